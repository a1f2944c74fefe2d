"""One generation call, pass by pass: txt2img, img2img or inpaint, then the hires pass.

Progress is one bar across every pass of every batch: each step callback reports the
steps done so far out of the steps the whole call will run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from daydream.engine import inpaint
from daydream.engine.errors import GenerationCancelled
from daydream.engine.params import GenerationParams, hires_size
from daydream.engine.preview import capture_x0, latents_to_jpeg
from daydream.engine.schedulers import make_scheduler


def steps_that_run(steps: int, strength: float | None) -> int:
    """diffusers' img2img and inpaint pipelines run int(steps × strength) steps."""
    return max(1, int(steps * strength)) if strength is not None else steps


@dataclass
class Pipes:
    """The engine's pipelines (sharing one set of components) and what it knows of them."""

    txt2img: Any
    image: Callable[[], Any]  # img2img, built on first use
    inpaint: Callable[[], Any]  # inpaint, built on first use
    scheduler_config: dict[str, Any]
    factors: Any
    inpainting_model: bool  # a 9-channel UNet: every pass goes through the inpaint pipeline


class Run:
    """The state of one ``Engine.generate`` call."""

    def __init__(self, pipes: Pipes, params: GenerationParams, *, init: Image.Image | None,
                 mask: Image.Image | None, on_step: Any, stop: Callable[[], bool],
                 preview_every: int | None, preview_denoised: bool, preview_max_side: int,
                 preview_interval: float = 0.0):
        self.pipes, self.params, self.init, self.mask = pipes, params, init, mask
        self.on_step, self.stop, self.preview_every = on_step, stop, preview_every
        self.preview_interval, self.last_preview = preview_interval, float("-inf")
        self.preview_denoised, self.preview_max_side = preview_denoised, preview_max_side
        self.size = (params.width, params.height)
        self.hires = params.enable_hr and init is None
        self.plan = self._plan()
        self.total = sum(self.plan) * params.n_iter
        self.done = 0  # steps finished in earlier passes
        self.batches_left = params.n_iter  # including the current one
        self.started = time.perf_counter()

    def _plan(self) -> list[int]:
        """Expected steps of each pass of one batch."""
        p = self.params
        first = p.steps if self.init is None else steps_that_run(p.steps, p.strength)
        if not self.hires:
            return [first]
        return [first, steps_that_run(p.hr_second_pass_steps or p.steps, p.strength)]

    def batch(self, seeds: list[int]) -> list[Image.Image]:
        """All passes for one batch of images with these seeds."""
        try:
            return self._batch(seeds)
        finally:
            self.batches_left -= 1

    def _batch(self, seeds: list[int]) -> list[Image.Image]:
        if self.mask is not None:
            return self._inpaint(seeds)
        if self.init is not None:
            init = self.init.convert("RGB").resize(self.size, Image.Resampling.LANCZOS)
            return self._redraw(init, seeds, 0, self.params.steps)
        latent_hires = self.hires and self.params.hr_upscaler == "Latent" and \
            not self.pipes.inpainting_model
        first = self._txt2img(seeds, latents=latent_hires)
        if not self.hires:
            return first
        return self._hires(first, seeds)

    # ---- passes -------------------------------------------------------------------------
    def _txt2img(self, seeds: list[int], latents: bool) -> Any:
        p = self.params
        if self.pipes.inpainting_model:  # an inpainting UNet draws from nothing everywhere
            grey = Image.new("RGB", self.size, (128, 128, 128))
            return self._call(self.pipes.inpaint(), seeds, 0, p.steps, image=grey,
                              strength=1.0, mask_image=inpaint.full_mask(self.size),
                              width=p.width, height=p.height)
        return self._call(self.pipes.txt2img, seeds, 0, p.steps, width=p.width,
                          height=p.height, output_type="latent" if latents else "pil")

    def _redraw(self, image: Any, seeds: list[int], pass_index: int, steps: int,
                per_seed: bool = False) -> list[Image.Image]:
        """img2img over a picture (or latents); an inpainting model repaints everything."""
        strength = self.params.strength
        if not self.pipes.inpainting_model:
            return self._call(self.pipes.image(), seeds, pass_index, steps, per_seed,
                              image=image, strength=strength)
        images = image if per_seed else [image] * len(seeds)
        out: list[Image.Image] = []
        for picture, seed in zip(images, seeds, strict=True):  # one mask per call
            out += self._call(self.pipes.inpaint(), [seed], pass_index, steps, image=picture,
                              mask_image=inpaint.full_mask(picture.size), strength=strength,
                              width=picture.size[0], height=picture.size[1])
        return out

    def _hires(self, first: Any, seeds: list[int]) -> list[Image.Image]:
        p = self.params
        width, height = hires_size(vars(p))
        if isinstance(first, torch.Tensor):  # latents: upscale them directly (A1111 "Latent")
            upscaled: Any = torch.nn.functional.interpolate(
                first, size=(height // 8, width // 8), mode="bilinear", align_corners=False)
        else:
            upscaled = [image.resize((width, height), Image.Resampling.LANCZOS)
                        for image in first]
        return self._redraw(upscaled, seeds, 1, p.hr_second_pass_steps or p.steps,
                            per_seed=True)

    def _inpaint(self, seeds: list[int]) -> list[Image.Image]:
        p = self.params
        original = self.init.convert("RGB").resize(self.size, Image.Resampling.LANCZOS)
        mask = inpaint.prepare_mask(self.mask, self.size, p.mask_blur)
        start = inpaint.prefill(original, mask, p.inpainting_fill, seeds[0])
        extra = {"padding_mask_crop": p.inpaint_full_res_padding} if p.inpaint_full_res else {}
        images = self._call(self.pipes.inpaint(), seeds, 0, p.steps, image=start,
                            mask_image=mask, strength=p.strength, width=p.width,
                            height=p.height, **extra)
        return [inpaint.overlay(image, original, mask) for image in images]

    # ---- one pipeline call ----------------------------------------------------------------
    def _call(self, pipe: Any, seeds: list[int], pass_index: int, steps: int,
              per_seed: bool = False, **kwargs: Any) -> Any:
        """Run ``pipe`` once for ``seeds``; ``per_seed``: the image is one per seed."""
        p = self.params
        pipe.scheduler = make_scheduler(p.scheduler, self.pipes.scheduler_config)
        x0: list[Any] = [None]
        if self.preview_denoised and self.on_step and self.preview_every:
            capture_x0(pipe.scheduler, x0)
        later = sum(self.plan[pass_index + 1:]) + sum(self.plan) * (self.batches_left - 1)

        def callback(pipe_: Any, index: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            self._step(self.done + index + 1, self.done + pipe_.num_timesteps + later,
                       x0[0] if x0[0] is not None else tensors["latents"])
            return tensors

        output = pipe(
            **self._prompts(len(seeds), per_seed), num_inference_steps=steps,
            guidance_scale=p.cfg_scale,
            # CPU generators: the same seed gives the same noise on any device.
            generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
            callback_on_step_end=callback, **kwargs)
        self.done += pipe.num_timesteps
        return output.images

    def _prompts(self, count: int, per_seed: bool) -> dict[str, Any]:
        """The prompt arguments of one pipeline call making ``count`` images."""
        p = self.params
        return {
            "prompt": [p.prompt] * count if per_seed else p.prompt,
            "negative_prompt": ([p.negative_prompt] * count if per_seed else p.negative_prompt)
            if p.negative_prompt else None,
            "num_images_per_prompt": 1 if per_seed else count,
        }

    def _step(self, step: int, total: int, latents: Any) -> None:
        """After each step: stop if asked (nothing is decoded), else report progress."""
        if self.stop():
            raise GenerationCancelled(step, total)
        if self.on_step is not None:
            self._report(step, total, latents, self.on_step, self._preview_due(step))

    def _preview_due(self, step: int) -> bool:
        """Whether this step makes previews: every ``preview_every`` steps, at most one
        per ``preview_interval`` seconds (each costs the engine a decode and a JPEG)."""
        if self.pipes.factors is None or not self.preview_every or step % self.preview_every:
            return False
        now = time.perf_counter()
        if now - self.last_preview < self.preview_interval:
            return False
        self.last_preview = now
        return True

    def _report(self, step: int, total: int, latents: Any, on_step: Any,
                with_preview: bool) -> None:
        """Call ``on_step`` with the progress and, when asked, a preview of latents[0]."""
        from daydream.engine.pipeline import StepProgress

        elapsed = time.perf_counter() - self.started
        jpeg = None
        if with_preview:
            jpeg = latents_to_jpeg(latents, self.pipes.factors, max_side=self.preview_max_side)
        on_step(StepProgress(step, total, elapsed, elapsed / step * (total - step), jpeg))
