// Colour theme: follow the system (default) or a choice kept in this browser. Loaded in
// <head> so the page never flashes the wrong theme; the nav button cycles the choice.
(() => {
  "use strict";
  const KEY = "daydream-theme";
  const NAMES = { system: "System", light: "Light", dark: "Dark" };
  const NEXT = { system: "dark", dark: "light", light: "system" };
  const root = document.documentElement;
  let choice = "system";
  try { choice = localStorage.getItem(KEY) || "system"; } catch (_) { /* storage blocked */ }
  if (!(choice in NAMES)) choice = "system";

  function apply() {
    root.classList.toggle("dark", choice === "dark");
    root.classList.toggle("light", choice === "light");
    const button = document.getElementById("theme-toggle");
    if (button) {
      button.dataset.theme = choice;
      button.querySelector(".theme-name").textContent = NAMES[choice];
      button.setAttribute("aria-label", `Colour theme: ${NAMES[choice]}. Change it`);
    }
  }
  apply();
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    button.hidden = false;
    apply();
    button.addEventListener("click", () => {
      choice = NEXT[choice];
      try {
        if (choice === "system") localStorage.removeItem(KEY);
        else localStorage.setItem(KEY, choice);
      } catch (_) { /* the choice lasts for this page only */ }
      apply();
    });
  });
})();
