// The studio's control panel: fields, the server's price (POST /studio/quote), init image,
// mask, aspect presets, remembered settings, Ctrl/Cmd+Enter, submit. The timeline and live
// progress are studio.js's; they meet through window.DaydreamForm and a "daydream:submitted"
// event on the form.
(() => {
  "use strict";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const studio = $("#studio");
  if (!studio) return;
  const form = $("#generate-form");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const mask = window.DaydreamMask;
  const maxPixels = Number(studio.dataset.maxPixels);
  const minSide = Number(studio.dataset.minSide);
  const maxSide = Number(studio.dataset.maxSide);
  const storageKey = `daydream:settings:${studio.dataset.user}`;
  const run = $("#run");
  const estimate = $("#estimate");

  // ---- panel (a drawer on phones) ---------------------------------------------------------
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
  function showSlider(slider) {
    const output = document.getElementById(`${slider.id}-value`);
    if (output) output.textContent = slider.value;
  }
  $$("input[type=range][name]", form).forEach((slider) => {
    slider.addEventListener("input", () => { showSlider(slider); changed(); });
    showSlider(slider);
  });
  $$("select, input[type=checkbox]", form).forEach((field) => field.addEventListener("change", changed));
  form.addEventListener("input", (event) => { if (event.target === prompt) showError(""); });

  // ---- aspect ratio presets and swap ------------------------------------------------------
  const snap = (value) => Math.min(maxSide, Math.max(minSide, Math.round(value / 8) * 8));
  function setSize(width, height) {
    form.width.value = width; form.height.value = height;
    showSlider(form.width); showSlider(form.height);
    changed();
  }
  $$("[data-aspect]", form).forEach((button) => {
    button.addEventListener("click", () => {
      const [w, h] = button.dataset.aspect.split(":").map(Number);
      // Keep about the current number of pixels, within the server's limit.
      const area = Math.min(maxPixels, Number(form.width.value) * Number(form.height.value));
      let height = snap(Math.sqrt(area * h / w));
      let width = snap(height * w / h);
      while (width * height > maxPixels && height > minSide) {
        height -= 8; width = snap(height * w / h);
      }
      setSize(width, height);
    });
  });
  $("#swap-size").addEventListener("click", () => setSize(form.height.value, form.width.value));

  // ---- hires fix --------------------------------------------------------------------------
  const hires = $("#enable_hr");
  const showHires = () => $("#hires-settings").classList.toggle("hidden", !hires.checked);
  hires.addEventListener("change", showHires);

  // ---- init image (upload, variant, reused task) and mask ---------------------------------
  const initFile = $("#init_image");
  const initFrom = $("#init_from");
  const initTask = $("#init_task");
  const useMask = $("#use_mask");
  const hasInit = () => Boolean(initFrom.value || initTask.value || initFile.files.length);
  const inpainting = () => hasInit() && useMask.checked && mask.isPainted();
  const mode = () => (inpainting() ? "inpaint" : hasInit() ? "img2img" : "txt2img");
  function showInit(src) {
    $("#init-preview").classList.toggle("hidden", !src);
    $("#init-preview").classList.toggle("flex", Boolean(src));
    if (src) $("#init-preview-img").src = src;
    $("#hires").classList.toggle("hidden", Boolean(src));
    changed();
    return mask.setImage(src);
  }
  useMask.addEventListener("change", () => { $("#mask-tools").classList.toggle("hidden", !useMask.checked); changed(); });
  mask.onChange(changed);
  initFile.addEventListener("change", () => {
    initFrom.value = ""; initTask.value = "";
    showError("");
    showInit(initFile.files[0] ? URL.createObjectURL(initFile.files[0]) : null);
  });
  $("#init-clear").addEventListener("click", () => {
    initFile.value = ""; initFrom.value = ""; initTask.value = "";
    useMask.checked = false;
    $("#mask-tools").classList.add("hidden");
    showError("");  // an error about the removed file must not stay behind
    showInit(null);
  });

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

  // ---- the server's price and time ----------------------------------------------------------
  function seconds(value) {
    if (value < 1) return "under a second";
    if (value < 90) return `about ${Math.round(value)} s`;
    return `about ${Math.round(value / 60)} min`;
  }
  function fieldsOnly() {
    const data = new FormData(form);
    data.delete("init_image");
    data.set("mode", mode());
    if (seed.disabled) data.delete("seed");
    return data;
  }
  let quoteTimer = null;
  let quoteSerial = 0;
  let lastQuote = null;
  function changed() {
    $("#strength-field").classList.toggle("hidden", !(hasInit() || hires.checked));
    $$("#mask_blur-field, #inpainting_fill-field, #inpaint_full_res-field, #inpaint_full_res_padding-field")
      .forEach((el) => el.classList.toggle("opacity-50", !inpainting()));
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(requestQuote, 150);
  }
  async function requestQuote() {
    const serial = ++quoteSerial;
    let response, body;
    try {
      response = await fetch("/studio/quote", {
        method: "POST", body: fieldsOnly(), headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      });
      body = await response.json();
    } catch (_) { return; }
    if (serial !== quoteSerial) return; // a newer change is on its way
    lastQuote = response.ok ? body : null;
    estimate.classList.toggle("text-red-700", !response.ok || !body.affordable);
    estimate.classList.toggle("dark:text-red-400", !response.ok || !body.affordable);
    if (!response.ok) {
      estimate.textContent = body && body.error ? body.error.message : "These settings cannot run.";
      estimate.dataset.cost = "";
      run.disabled = true;
      return;
    }
    estimate.dataset.cost = String(body.cost);
    const factor = body.model && body.model.price_factor !== 1
      ? ` (price ×${body.model.price_factor} for ${body.model.title})` : "";
    const credits = `${body.cost} credit${body.cost === 1 ? "" : "s"}${factor}`;
    if (!body.affordable) {
      estimate.textContent = `${credits} needed; you have ${body.credits}. Lower the size, steps or samples, or ask an operator (staff) of this server to grant you credits.`;
      run.disabled = true;
      return;
    }
    const wait = body.queue_seconds > 0.5 ? `, after ${seconds(body.queue_seconds)} in the queue` : "";
    estimate.textContent = `${credits} of your ${body.credits} · ${seconds(body.run_seconds)} to run${wait}`;
    run.disabled = false;
  }

  // ---- remembered settings (per user, in this browser) ------------------------------------
  const REMEMBERED = $$("input[name], select[name], textarea[name]", form)
    .filter((el) => !["csrf_token", "init_from", "init_task", "init_image", "seed"].includes(el.name));
  function saveSettings() {
    const saved = {};
    REMEMBERED.forEach((el) => { saved[el.name] = el.type === "checkbox" ? el.checked : el.value; });
    saved.seed = seed.value;
    try { localStorage.setItem(storageKey, JSON.stringify(saved)); } catch (_) { /* private mode */ }
  }
  function apply(settings) {
    REMEMBERED.forEach((el) => {
      if (!(el.name in settings) || settings[el.name] === null || settings[el.name] === undefined) return;
      if (el.type === "checkbox") el.checked = Boolean(settings[el.name]);
      else el.value = settings[el.name];
    });
    $$("input[type=range][name]", form).forEach(showSlider);
    seed.disabled = randomSeed.checked;
    showHires();
    form.dispatchEvent(new CustomEvent("daydream:applied"));  // the model picker catches up
  }
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved) { apply(saved); if (!randomSeed.checked) seed.value = saved.seed || ""; }
  } catch (_) { /* nothing remembered */ }

  // ---- reuse and variant (called by studio.js) ----------------------------------------------
  async function reuse(settings, options = {}) {
    apply({ ...settings, enable_hr: Boolean(settings.enable_hr), inpaint_full_res: Boolean(settings.inpaint_full_res),
      random_seed: Boolean(options.variant) });
    seed.disabled = Boolean(options.variant);
    seed.value = options.variant ? "" : settings.seed;
    initFile.value = "";
    initFrom.value = options.image || "";
    initTask.value = !options.image && settings.has_init_image ? options.taskId : "";
    useMask.checked = Boolean(settings.has_mask);
    $("#mask-tools").classList.toggle("hidden", !useMask.checked);
    const source = options.thumb || (initTask.value ? `/studio/tasks/${options.taskId}/init.png` : null);
    await showInit(source);
    if (settings.has_mask) await mask.load(`/studio/tasks/${options.taskId}/mask.png`);
    changed();
    setPanel(true);
    prompt.focus();
  }

  // ---- submit -------------------------------------------------------------------------------
  function showError(message) {
    const box = $("#form-error");
    box.textContent = message || "";
    box.classList.toggle("hidden", !message);
  }
  async function submit() {
    showError("");
    if (!prompt.value.trim()) {
      showError("Write a prompt first: describe the image you want.");
      prompt.focus();
      return;
    }
    run.disabled = true;
    const data = new FormData(form);
    if (seed.disabled) data.delete("seed");
    if (initFile.files[0]) data.set("init_image", await shrunkUpload(initFile.files[0]));
    if (!hasInit() && !hires.checked) data.delete("strength");
    if (inpainting()) data.set("mask", await mask.toBlob(), "mask.png");
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
      saveSettings();
      form.dispatchEvent(new CustomEvent("daydream:submitted", { detail: body }));
      setPanel(false);
    } catch (error) {
      showError("Could not reach the server. Check your connection and try again.");
    } finally {
      changed();
    }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  // Ctrl+Enter (Cmd+Enter on a Mac) runs from anywhere in the panel.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!run.disabled) submit();
    }
  });

  window.DaydreamForm = { reuse, showError, setPanel, refreshQuote: changed, lastQuote: () => lastQuote };
  showHires();
  changed();

  // "Try this prompt" from the gallery opens the studio with the image's settings in the URL.
  const prefill = new URLSearchParams(window.location.search);
  if (prefill.get("prompt")) reuse(Object.fromEntries(prefill), { variant: !prefill.get("seed") });
  // Settings handed over by the library ("reuse" / "variant" links): the task's request,
  // its starting image and mask included.
  const handoff = $("#handoff");
  if (handoff) {
    const given = JSON.parse(handoff.textContent);
    reuse(given.settings, { taskId: given.settings.id, variant: Boolean(given.image),
      image: given.image, thumb: given.thumb });
  }
})();
