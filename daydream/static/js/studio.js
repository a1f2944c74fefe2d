// The studio page: control panel, estimates, submit, live progress over Socket.IO, timeline.
(() => {
  "use strict";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const studio = $("#studio");
  if (!studio) return;
  const form = $("#generate-form");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const progressArea = $("#progress-area");
  const timeline = $("#timeline");
  const active = new Map(); // task id → its progress element
  const panel = () => window.DaydreamForm; // the control panel (studio-form.js)
  const showError = (message) => panel().showError(message);
  function seconds(value) {
    if (value < 1) return "under a second";
    if (value < 90) return `about ${Math.round(value)} s`;
    return `about ${Math.round(value / 60)} min`;
  }

  // A task the control panel submitted: its card, the balance, its progress.
  form.addEventListener("daydream:submitted", (event) => {
    const body = event.detail;
    addCard(body.task.id, body.card);
    setCredits(body.credits);
    track(body.task);
  });

  // ---- timeline cards ------------------------------------------------------------------------
  function addCard(taskId, html) {
    const old = document.getElementById(`task-${taskId}`);
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const card = holder.firstElementChild;
    if (old) old.replaceWith(card); else timeline.prepend(card);
    $("#empty-state").classList.add("hidden");
  }
  async function refreshCard(taskId) {
    const response = await fetch(`/studio/tasks/${taskId}/card`);
    if (response.ok) addCard(taskId, await response.text());
  }
  function setCredits(credits) {
    const badge = document.querySelector("[data-testid=nav-credits]");
    if (badge && credits !== undefined) badge.textContent = `${credits} credits`;
  }
  async function refreshState() {
    const response = await fetch("/studio/state", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const body = await response.json();
    setCredits(body.credits);
    panel().refreshQuote();
    body.tasks.forEach((task) => {
      const card = document.getElementById(`task-${task.id}`);
      if (card && card.dataset.state !== task.state) refreshCard(task.id);
      if (task.state === "queued" || task.state === "running") track(task);
      else untrack(task.id);
    });
  }
  async function cancelTask(taskId) {
    const response = await fetch(`/studio/tasks/${taskId}/cancel`, {
      method: "POST", headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      showError(body && body.error ? body.error.message : "Could not cancel the task.");
    }
    const item = active.get(taskId);
    if (item) $(".detail", item).textContent = "Cancelling…";
  }
  timeline.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const card = button.closest("[data-task]");
    if (button.dataset.action === "cancel") cancelTask(card.dataset.task);
    const settings = () => JSON.parse(card.dataset.settings);
    if (button.dataset.action === "reuse") panel().reuse(settings(), { taskId: card.dataset.task });
    if (button.dataset.action === "share") share(button);
    if (button.dataset.action === "variant") {
      panel().reuse(settings(), { taskId: card.dataset.task, variant: true,
        image: button.dataset.image, thumb: button.dataset.thumb });
    }
  });
  // Older cards of a long session, a page at a time.
  const showEarlier = $("#show-earlier");
  showEarlier.addEventListener("click", async () => {
    showEarlier.disabled = true;
    try {
      const response = await fetch(`/studio/cards?before=${showEarlier.dataset.before}`,
        { headers: { Accept: "application/json" } });
      if (!response.ok) { showError("Could not load earlier images. Try again."); return; }
      const body = await response.json();
      timeline.insertAdjacentHTML("beforeend", body.cards);
      showEarlier.dataset.before = body.before || "";
      $("#timeline-more").classList.toggle("hidden", !body.before);
    } catch (error) {
      showError("Could not load earlier images. Check your connection and try again.");
    } finally {
      showEarlier.disabled = false;
    }
  });
  async function share(button) {
    const shared = button.dataset.shared !== "1";
    const body = new FormData();
    body.set("shared", shared ? "1" : "0");
    const response = await fetch(`/studio/images/${button.dataset.image}/share`, {
      method: "POST", body, headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    if (!response.ok) { showError("Could not change sharing for that image."); return; }
    button.dataset.shared = shared ? "1" : "0";
    button.setAttribute("aria-pressed", String(shared));
    button.textContent = shared ? "Shared" : "Share";
  }
  // ---- live progress -------------------------------------------------------------------------
  function track(task) {
    let item = active.get(task.id);
    if (!item) {
      item = $("#progress-template").content.firstElementChild.cloneNode(true);
      item.dataset.task = task.id;
      $(".label", item).textContent = task.prompt || "(empty prompt)";
      $(".bar", item).style.width = "0%"; // set here: the CSP refuses style attributes
      $(".cancel", item).addEventListener("click", () => cancelTask(task.id));
      progressArea.append(item);
      active.set(task.id, item);
    }
    // Events come from two threads; a late "queued" must not undo "running".
    if (task.state === "queued" && item.dataset.state === "running") return;
    item.dataset.state = task.state;
    if (task.state === "queued") {
      item.dataset.position = task.position || "";
      item.dataset.deadline = task.eta != null ? String(Date.now() + task.eta * 1000) : "";
      showWait(item);
    } else if (task.state === "running" && task.progress && task.progress.total) {
      setProgress(item, task.progress.step, task.progress.total, task.eta);
    } else if (task.state === "running") {
      $(".detail", item).textContent = "Starting…";
    }
  }
  // A queued task's wait counts down between the server's updates (sent whenever the
  // queue moves), so it never sits still at a stale number.
  function showWait(item) {
    const where = item.dataset.position ? `position ${item.dataset.position}` : "waiting";
    const deadline = Number(item.dataset.deadline);
    const left = deadline ? Math.max(0, (deadline - Date.now()) / 1000) : null;
    $(".detail", item).textContent = `Queued — ${where}${left != null ? `, done in ${seconds(left)}` : ""}`;
  }
  setInterval(() => {
    for (const item of active.values()) if (item.dataset.state === "queued") showWait(item);
  }, 1000);
  function setProgress(item, step, total, eta) {
    item.dataset.state = "running";
    const percent = total ? Math.round(100 * step / total) : 0;
    $(".bar", item).style.width = `${percent}%`;
    item.querySelector("[role=progressbar]").setAttribute("aria-valuenow", String(percent));
    $(".detail", item).textContent = `Step ${step} of ${total} — ${eta != null ? seconds(eta) : "…"} left`;
  }
  function untrack(taskId) {
    const item = active.get(taskId);
    if (item) item.remove();
    active.delete(taskId);
  }

  if (typeof io === "undefined") return;
  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => { $("#connection").classList.add("hidden"); refreshState(); });
  socket.on("disconnect", () => $("#connection").classList.remove("hidden"));
  socket.on("state", (state) => state.tasks.forEach(track));
  socket.on("task.queued", (task) => { track(task); if (!document.getElementById(`task-${task.id}`)) refreshCard(task.id); });
  socket.on("task.started", (task) => { track(task); refreshCard(task.id); });
  socket.on("task.progress", (event) => {
    const item = active.get(event.id) || track({ id: event.id, state: "running" }) || active.get(event.id);
    setProgress(item, event.step, event.total, event.eta);
    if (event.preview) {
      const preview = $(".preview", item);
      preview.src = event.preview;
      preview.classList.remove("hidden");
    }
  });
  for (const name of ["task.done", "task.failed", "task.cancelled"]) {
    socket.on(name, (task) => {
      untrack(task.id);
      refreshCard(task.id);
      if (name !== "task.done") refreshState();
    });
  }
})();
