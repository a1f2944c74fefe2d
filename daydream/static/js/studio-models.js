// The studio's model and LoRA pickers. Choosing a model fills width and height with its
// usual size (the server fitted it to this site's limits) and describes it; the price comes
// back with the server's quote, which studio-form.js asks for on every change. Choosing a
// LoRA appends A1111's <lora:name:0.8> tag to the prompt.
(() => {
  "use strict";
  const form = document.getElementById("generate-form");
  const picker = document.getElementById("model");
  if (!form || !picker) return;
  const info = document.getElementById("model-info");
  const FAMILIES = { sd1: "SD 1.x", sd2: "SD 2.x", sdxl: "SDXL", unknown: "family unknown" };

  const selected = () => picker.options[picker.selectedIndex];
  function describe() {
    // A remembered or reused model that was since disabled: back to the person's default.
    if (picker.selectedIndex < 0) picker.value = picker.dataset.default;
    const option = selected();
    if (!option) return;
    const family = FAMILIES[option.dataset.family] || option.dataset.family;
    info.textContent = `${family} · usual size ${option.dataset.width}×${option.dataset.height}`
      + ` · price ×${option.dataset.price}`;
  }
  function setSlider(name, value) {
    const slider = form.elements[name];
    slider.value = value;
    slider.dispatchEvent(new Event("input", { bubbles: true }));  // shows it, asks a quote
  }
  picker.addEventListener("change", () => {
    const option = selected();
    if (!option) return;
    setSlider("width", option.dataset.width);
    setSlider("height", option.dataset.height);
    describe();
  });
  form.addEventListener("daydream:applied", describe);
  describe();

  const loraPick = document.getElementById("lora-pick");
  if (!loraPick) return;
  loraPick.addEventListener("change", () => {
    const name = loraPick.value;
    loraPick.value = "";
    if (!name) return;
    const prompt = form.elements.prompt;
    if (!prompt.value.includes(`<lora:${name}:`)) {
      const text = prompt.value.trimEnd();
      prompt.value = `${text}${text ? " " : ""}<lora:${name}:0.8>`;
    }
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
    prompt.focus();
  });
})();
