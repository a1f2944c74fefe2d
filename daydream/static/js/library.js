// The library: selection, favourites and the lightbox (keyboard: ← → F Esc).
(() => {
  "use strict";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const csrf = document.querySelector("meta[name=csrf-token]").content;

  // Destructive buttons ask first (the form still works without script, unasked).
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  async function post(url, fields) {
    const body = new FormData();
    for (const [name, value] of Object.entries(fields || {})) body.set(name, value);
    const response = await fetch(url, {
      method: "POST", body, headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`The server answered ${response.status}.`);
    return response.json();
  }

  const grid = $("#library-grid");
  if (!grid) return;
  const items = () => $$("[data-testid=library-item]", grid);
  const dataOf = (li) => JSON.parse($(".item-data", li).textContent);
  const store = (li, data) => { $(".item-data", li).textContent = JSON.stringify(data); };

  // ---- selection ---------------------------------------------------------------------
  const selectAll = $("#select-all");
  const counter = $("#selected-count");
  function countSelected() {
    const ticked = $$("input[name=image]:checked", grid).length;
    counter.textContent = ticked ? `${ticked} selected` : "";
    selectAll.checked = ticked > 0 && ticked === items().length;
  }
  selectAll.addEventListener("change", () => {
    $$("input[name=image]", grid).forEach((box) => { box.checked = selectAll.checked; });
    countSelected();
  });
  grid.addEventListener("change", countSelected);

  // ---- favourites in the grid --------------------------------------------------------
  function showFavourite(li, favourite) {
    const button = $("[data-action=favourite]", li);
    button.textContent = favourite ? "★" : "☆";
    button.value = favourite ? "0" : "1";
    button.setAttribute("aria-pressed", String(favourite));
    button.classList.toggle("text-yellow-500", favourite);
    button.classList.toggle("text-gray-500", !favourite);
  }
  async function toggleFavourite(li) {
    const data = dataOf(li);
    const updated = await post(`/library/images/${data.id}/favourite`,
      { favourite: data.favourite ? "0" : "1" });
    store(li, updated);
    showFavourite(li, updated.favourite);
    return updated;
  }
  grid.addEventListener("click", (event) => {
    const favourite = event.target.closest("[data-action=favourite]");
    if (favourite) {
      event.preventDefault();
      toggleFavourite(favourite.closest("li")).catch(() => favourite.form.requestSubmit(favourite));
      return;
    }
    const open = event.target.closest("[data-action=open]");
    if (open && lightbox && typeof lightbox.showModal === "function") {
      event.preventDefault();
      show(items().indexOf(open.closest("li")));
      lightbox.showModal();
    }
  });

  // ---- lightbox ----------------------------------------------------------------------
  const lightbox = $("#lightbox");
  let current = -1;
  const error = $("#lightbox-error");
  function field(name, value) {
    const cell = $(`[data-lightbox-field=${name}]`, lightbox);
    if (cell) cell.textContent = value;
  }
  function show(index) {
    const list = items();
    if (!list.length) { lightbox.close(); return; }
    current = Math.max(0, Math.min(index, list.length - 1));
    const data = dataOf(list[current]);
    const image = $("#lightbox-img");
    image.src = data.url;
    image.width = data.width;
    image.height = data.height;
    image.alt = `${data.prompt} (seed ${data.seed})`;
    $("#lightbox-position").textContent = `${current + 1} of ${list.length}`;
    field("prompt", data.prompt);
    field("negative_prompt", data.negative_prompt || "—");
    field("seed", String(data.seed));
    field("size", `${data.width}×${data.height}`);
    field("steps", String(data.steps));
    field("cfg_scale", String(data.cfg_scale));
    field("scheduler", data.scheduler);
    field("mode", data.strength ? `${data.mode} · strength ${data.strength}` : data.mode);
    field("model", data.model || "—");
    field("created_at", new Date(data.created_at).toLocaleString());
    const favourite = $("[data-lightbox-action=favourite]", lightbox);
    favourite.textContent = data.favourite ? "★ Favourite" : "☆ Favourite";
    favourite.setAttribute("aria-pressed", String(data.favourite));
    const share = $("[data-lightbox-action=share]", lightbox);
    share.textContent = data.public ? "Shared — take back" : "Share to gallery";
    share.setAttribute("aria-pressed", String(data.public));
    $("[data-lightbox-link=download]", lightbox).href = `${data.url}?download=1`;
    $("[data-lightbox-link=reuse]", lightbox).href = `/studio/?reuse=${data.task_id}`;
    $("[data-lightbox-link=variant]", lightbox).href = `/studio/?variant=${data.id}`;
    $("[data-lightbox-link=page]", lightbox).href = $("[data-action=open]", list[current]).href;
    $("[data-nav='-1']", lightbox).disabled = current === 0;
    $("[data-nav='1']", lightbox).disabled = current === list.length - 1;
    error.classList.add("hidden");
  }
  function fail(problem) {
    error.textContent = problem.message || String(problem);
    error.classList.remove("hidden");
  }
  async function act(action) {
    const li = items()[current];
    const data = dataOf(li);
    try {
      if (action === "favourite") await toggleFavourite(li);
      if (action === "share") {
        store(li, await post(`/library/images/${data.id}/share`, { shared: data.public ? "0" : "1" }));
      }
      if (action === "delete") {
        if (!window.confirm("Delete this image? This cannot be undone.")) return;
        await post(`/library/images/${data.id}/delete`);
        li.remove();
        countSelected();
      }
      show(current);
    } catch (problem) { fail(problem); }
  }
  if (lightbox) {
    $("#lightbox-close").addEventListener("click", () => lightbox.close());
    lightbox.addEventListener("click", (event) => {
      if (event.target === lightbox) { lightbox.close(); return; }
      const nav = event.target.closest("[data-nav]");
      if (nav) show(current + Number(nav.dataset.nav));
      const action = event.target.closest("[data-lightbox-action]");
      if (action) act(action.dataset.lightboxAction);
    });
    lightbox.addEventListener("keydown", (event) => {
      if (event.target.closest("input, textarea")) return;
      if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
      if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
      if (event.key === "f" || event.key === "F") act("favourite");
    });
  }
})();
