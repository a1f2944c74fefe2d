// The archive tab: while the archive waits or builds, poll it; reload when its state changes.
(() => {
  const box = document.querySelector("[data-testid=archive]");
  if (!box || !["queued", "building"].includes(box.dataset.state)) return;
  const done = box.querySelector(".archive-done");
  const bar = box.querySelector("progress");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const archive = await response.json();
        if (done) done.textContent = archive.done;
        if (bar) bar.value = archive.done;
        // Started, finished or failed: the page says each in its own words.
        if (archive.state !== box.dataset.state) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The network blinked; try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
