// The studio page: control panel, estimates, submit, live progress over Socket.IO, timeline.
(() => {
  "use strict";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const studio = $("#studio");
  if (!studio) return;
  const form = $("#generate-form");
  const pricing = JSON.parse(studio.dataset.pricing);
  const maxPixels = Number(studio.dataset.maxPixels);
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const progressArea = $("#progress-area");
  const timeline = $("#timeline");
  const active = new Map(); // task id → its progress element

  // ---- control panel -------------------------------------------------------------------
  const panel = $("#control-panel");
  const backdrop = $("#panel-backdrop");
  function setPanel(open) {
    panel.classList.toggle("-translate-x-full", !open);
    backdrop.classList.toggle("hidden", !open);
    $("#open-panel").setAttribute("aria-expanded", String(open));
  }
  $("#open-panel").addEventListener("click", () => setPanel(true));
  $("#close-panel").addEventListener("click", () => setPanel(false));
  backdrop.addEventListener("click", () => setPanel(false));

  const prompt = $("#prompt");
  try {
    const ideas = JSON.parse(prompt.dataset.placeholders);
    prompt.placeholder = ideas[Math.floor(Math.random() * ideas.length)];
  } catch (_) { /* keep the default placeholder */ }

  $("#help-toggle").addEventListener("change", (event) => {
    $$(".help", form).forEach((el) => el.classList.toggle("hidden", !event.target.checked));
  });
  const seed = $("#seed");
  const randomSeed = $("#random_seed");
  randomSeed.addEventListener("change", () => {
    seed.disabled = randomSeed.checked;
    if (!randomSeed.checked && !seed.value) seed.value = Math.floor(Math.random() * 4294967295);
  });

  $$("input[type=range]", form).forEach((slider) => {
    const output = document.getElementById(`${slider.id}-value`);
    const show = () => { if (output) output.textContent = slider.value; };
    slider.addEventListener("input", () => { show(); updateEstimate(); });
    show();
  });

  // ---- init image: upload or "variant" of a result -------------------------------------
  const initFile = $("#init_image");
  const initFrom = $("#init_from");
  function showInit(src) {
    $("#init-preview").classList.toggle("hidden", !src);
    $("#init-preview").classList.toggle("flex", Boolean(src));
    $("#strength-field").classList.toggle("hidden", !src);
    if (src) $("#init-preview-img").src = src;
    updateEstimate();
  }
  initFile.addEventListener("change", () => {
    initFrom.value = "";
    showInit(initFile.files[0] ? URL.createObjectURL(initFile.files[0]) : null);
  });
  $("#init-clear").addEventListener("click", () => {
    initFile.value = "";
    initFrom.value = "";
    showInit(null);
  });
  const hasInit = () => Boolean(initFrom.value || initFile.files.length);

  // Shrink a large upload in the browser first: the server resizes to width × height anyway.
  async function shrunkUpload(file) {
    const width = Number(form.width.value), height = Number(form.height.value);
    const bitmap = await createImageBitmap(file).catch(() => null);
    if (!bitmap || (bitmap.width <= 2 * width && bitmap.height <= 2 * height)) return file;
    const scale = Math.min(2 * width / bitmap.width, 2 * height / bitmap.height);
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    return blob ? new File([blob], "init.jpg", { type: "image/jpeg" }) : file;
  }

  // ---- estimate: the same formula the server charges by --------------------------------
  function seconds(value) {
    if (value < 1) return "under a second";
    if (value < 90) return `about ${Math.round(value)} s`;
    return `about ${Math.round(value / 60)} min`;
  }
  function updateEstimate() {
    const width = Number(form.width.value), height = Number(form.height.value);
    const samples = Number(form.samples.value);
    let steps = Number(form.steps.value);
    if (hasInit()) steps = Math.max(1, Math.floor(steps * Number(form.strength.value)));
    const run = $("#run");
    const estimate = $("#estimate");
    if (width * height > maxPixels) {
      estimate.textContent = `${width}×${height} is too large here: at most ${maxPixels} pixels.`;
      estimate.classList.add("text-red-700");
      run.disabled = true;
      return;
    }
    estimate.classList.remove("text-red-700");
    run.disabled = false;
    const cost = Math.max(1, Math.ceil(width * height * steps * samples / pricing.credit_pixel_steps));
    const runSeconds = pricing.overhead + pricing.rate * width * height * steps * samples / 1e6;
    const wait = pricing.queue_seconds > 0.5 ? `, after ${seconds(pricing.queue_seconds)} in the queue` : "";
    estimate.textContent = `${cost} credit${cost === 1 ? "" : "s"} · ${seconds(runSeconds)} to run${wait}`;
  }
  updateEstimate();

  // ---- submit ------------------------------------------------------------------------------
  function showError(message) {
    const box = $("#form-error");
    box.textContent = message || "";
    box.classList.toggle("hidden", !message);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const run = $("#run");
    run.disabled = true;
    const data = new FormData(form);
    if (seed.disabled) data.delete("seed");
    if (initFile.files[0]) data.set("init_image", await shrunkUpload(initFile.files[0]));
    if (!hasInit()) data.delete("strength");
    try {
      const response = await fetch(form.action, {
        method: "POST", body: data, headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const message = body && body.error ? body.error.message
          : response.status === 413 ? "The image is too large to upload." : `The server answered ${response.status}.`;
        showError(message);
        return;
      }
      addCard(body.task.id, body.card);
      setCredits(body.credits);
      track(body.task);
      setPanel(false);
    } catch (error) {
      showError("Could not reach the server. Check your connection and try again.");
    } finally {
      updateEstimate();
    }
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
    if (button.dataset.action === "reuse") reuse(JSON.parse(card.dataset.settings), false);
    if (button.dataset.action === "share") share(button);
    if (button.dataset.action === "variant") {
      reuse(JSON.parse(card.dataset.settings), true);
      initFile.value = "";
      initFrom.value = button.dataset.image;
      showInit(button.dataset.thumb);
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
  function reuse(settings, variant) {
    for (const name of ["prompt", "negative_prompt", "width", "height", "steps", "cfg_scale", "samples", "scheduler"]) {
      if (settings[name] !== null && settings[name] !== undefined) form[name].value = settings[name];
    }
    if (settings.strength) form.strength.value = settings.strength;
    randomSeed.checked = variant;
    seed.disabled = variant;
    seed.value = variant ? "" : settings.seed;
    $$("input[type=range]", form).forEach((slider) => slider.dispatchEvent(new Event("input")));
    updateEstimate();
    setPanel(true);
    prompt.focus();
  }

  // ---- live progress -------------------------------------------------------------------------
  function track(task) {
    let item = active.get(task.id);
    if (!item) {
      item = $("#progress-template").content.firstElementChild.cloneNode(true);
      item.dataset.task = task.id;
      $(".label", item).textContent = task.prompt || "(empty prompt)";
      $(".cancel", item).addEventListener("click", () => cancelTask(task.id));
      progressArea.append(item);
      active.set(task.id, item);
    }
    // Events come from two threads; a late "queued" must not undo "running".
    if (task.state === "queued" && item.dataset.state === "running") return;
    item.dataset.state = task.state;
    if (task.state === "queued") {
      const where = task.position ? `position ${task.position}` : "waiting";
      $(".detail", item).textContent = `Queued — ${where}${task.eta != null ? `, done in ${seconds(task.eta)}` : ""}`;
    } else if (task.state === "running" && task.progress && task.progress.total) {
      setProgress(item, task.progress.step, task.progress.total, task.eta);
    } else if (task.state === "running") {
      $(".detail", item).textContent = "Starting…";
    }
  }
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
