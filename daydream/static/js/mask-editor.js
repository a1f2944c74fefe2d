// The inpainting mask editor: paint over the init image with a brush or eraser (mouse, pen
// or finger through pointer events), change the size, invert, clear; export a PNG mask
// (white = repaint). Exposes window.DaydreamMask for studio-form.js.
(() => {
  "use strict";
  const editor = document.getElementById("mask-editor");
  if (!editor) return;
  const stage = document.getElementById("mask-stage");
  const base = document.getElementById("mask-base");
  const canvas = document.getElementById("mask-canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const size = document.getElementById("mask-size");
  const status = document.getElementById("mask-status");
  const PAINT = "rgba(239, 68, 68, 1)"; // shown at the canvas's opacity over the picture
  let tool = "brush";
  let painted = false;
  let last = null;
  const listeners = [];

  function changed() {
    status.textContent = painted ? "Masked area shown in red: it will be repainted."
      : "Nothing painted yet: paint the area to repaint.";
    listeners.forEach((listener) => listener(painted));
  }
  function recount() {
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    painted = false;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) { painted = true; break; }
    changed();
  }
  // The canvas works at the picture's own resolution (at most 1024 px a side).
  function fitTo(width, height) {
    const scale = Math.min(1, 1024 / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    painted = false;
    changed();
  }
  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: (event.clientX - rect.left) * canvas.width / rect.width,
      y: (event.clientY - rect.top) * canvas.height / rect.height,
      scale: canvas.width / rect.width };
  }
  function stroke(from, to) {
    ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = PAINT;
    ctx.fillStyle = PAINT;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = Number(size.value) * to.scale;
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    ctx.globalCompositeOperation = "source-over";
  }
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    event.preventDefault();
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  const end = () => { if (last) { last = null; recount(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  editor.querySelectorAll("[data-tool]").forEach((button) => {
    button.addEventListener("click", () => {
      tool = button.dataset.tool;
      editor.querySelectorAll("[data-tool]").forEach((other) =>
        other.setAttribute("aria-pressed", String(other === button)));
    });
  });
  document.getElementById("mask-clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    recount();
  });
  document.getElementById("mask-invert").addEventListener("click", () => {
    const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const pixels = image.data;
    for (let i = 0; i < pixels.length; i += 4) {
      pixels[i] = 239; pixels[i + 1] = 68; pixels[i + 2] = 68;
      pixels[i + 3] = 255 - pixels[i + 3];
    }
    ctx.putImageData(image, 0, 0);
    recount();
  });

  window.DaydreamMask = {
    // Show the editor over a new init image (null hides it); the mask starts empty.
    setImage(src) {
      editor.classList.toggle("hidden", !src);
      if (!src) { painted = false; changed(); return Promise.resolve(); }
      return new Promise((resolve) => {
        base.onload = () => { fitTo(base.naturalWidth, base.naturalHeight); resolve(); };
        base.onerror = () => resolve();
        base.src = src;
      });
    },
    // Load a stored mask (white = repaint) into the canvas, e.g. to reuse a task's mask.
    load(src) {
      return new Promise((resolve) => {
        const image = new Image();
        image.onload = () => {
          const scratch = document.createElement("canvas");
          scratch.width = canvas.width; scratch.height = canvas.height;
          const sctx = scratch.getContext("2d");
          sctx.drawImage(image, 0, 0, canvas.width, canvas.height);
          const source = sctx.getImageData(0, 0, canvas.width, canvas.height).data;
          const out = ctx.createImageData(canvas.width, canvas.height);
          for (let i = 0; i < source.length; i += 4) {
            out.data[i] = 239; out.data[i + 1] = 68; out.data[i + 2] = 68;
            out.data[i + 3] = source[i];
          }
          ctx.putImageData(out, 0, 0);
          recount();
          resolve();
        };
        image.onerror = () => resolve();
        image.src = src;
      });
    },
    isPainted: () => painted,
    onChange(listener) { listeners.push(listener); },
    // The mask as a PNG blob: white where painted, black elsewhere.
    toBlob() {
      const out = document.createElement("canvas");
      out.width = canvas.width; out.height = canvas.height;
      const octx = out.getContext("2d");
      const source = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const image = octx.createImageData(canvas.width, canvas.height);
      for (let i = 0; i < source.length; i += 4) {
        const value = source[i + 3];
        image.data[i] = value; image.data[i + 1] = value; image.data[i + 2] = value;
        image.data[i + 3] = 255;
      }
      octx.putImageData(image, 0, 0);
      return new Promise((resolve) => out.toBlob(resolve, "image/png"));
    },
    stage,
  };
})();
