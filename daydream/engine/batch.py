"""Several people's requests in one UNet batch: one pipeline call, many results.

txt2img requests that share the model, size, steps, sampler and guidance (and need no
hires pass, no second batch and no LoRA) can run as one call; so can img2img requests that
also share the strength, each over its own init image (not on a 9-channel inpainting
model, which needs a mask per call): each image keeps its own generator, so
its noise is what it would be alone and the picture matches a lone run within float
rounding. Each member keeps its own progress, previews and stop check; a member that is
stopped stops getting progress and gets no result (its images are computed on with the
others, which is cheaper than reshaping a sampler's state mid-run), and once every member
has stopped the call ends without decoding.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from daydream.engine.errors import GenerationCancelled, GenerationError
from daydream.engine.params import ENGINE_LIMITS, MAX_SEED, GenerationParams, validate_params
from daydream.engine.prompt import extract_loras
from daydream.engine.runner import Pipes, Run

# What members of one batch must share (everything else is per member: prompts and seeds).
SHARED = ("width", "height", "steps", "cfg_scale", "scheduler")


@dataclass
class BatchRequest:
    """One member of a batch: its parameters and its own callbacks."""

    params: GenerationParams
    on_step: Callable[[Any], None] | None = None
    should_stop: Callable[[], bool] = lambda: False
    # Called once, at the step where should_stop fired: (steps done, steps in all).
    on_stopped: Callable[[int, int], None] | None = None
    init_image: Any = None  # img2img: this member's picture to start from


def batchable(params: GenerationParams) -> bool:
    """Whether a request can join a batch at all: no hires pass, one batch, no LoRA."""
    return not params.enable_hr and params.n_iter == 1 and not extract_loras(params.prompt)[1]


def check_compatible(requests: list[BatchRequest]) -> None:
    """Raise GenerationError unless every request can share one pipeline call."""
    first = requests[0].params
    img2img = requests[0].init_image is not None
    for request in requests:
        if not batchable(request.params):
            raise GenerationError("hires fix, several batches and LoRAs cannot join a batch")
        if (request.init_image is not None) != img2img:
            raise GenerationError("txt2img and img2img cannot share a batch")
        for name in SHARED + (("strength",) if img2img else ()):
            if getattr(request.params, name) != getattr(first, name):
                raise GenerationError(f"batch members differ in {name}")


@dataclass
class _Member:
    request: BatchRequest
    params: GenerationParams  # normalised, with its real first seed
    seeds: list[int]
    stopped: tuple[int, int] | None = None


class BatchRun(Run):
    """A Run whose one txt2img pass carries every member's prompts, seeds and callbacks."""

    def __init__(self, pipes: Pipes, members: list[_Member], *, preview_every: int | None,
                 preview_denoised: bool, preview_max_side: int,
                 preview_interval: float = 0.0) -> None:
        self.members = members
        total = sum(len(member.seeds) for member in members)
        shared = dataclasses.replace(members[0].params, samples=total, n_iter=1)
        reporting = any(member.request.on_step for member in members)
        super().__init__(pipes, shared, init=members[0].request.init_image, mask=None,
                         on_step=self._step if reporting else None, stop=lambda: False,
                         preview_every=preview_every, preview_denoised=preview_denoised,
                         preview_max_side=preview_max_side, preview_interval=preview_interval)

    def images(self) -> list[Any]:
        """Run the one pass; every member's images, in member order."""
        seeds = [seed for member in self.members for seed in member.seeds]
        if self.init is None:
            return self._txt2img(seeds, latents=False)
        # One init image per image made, as a lone run repeats its own for its samples.
        lanczos = Image.Resampling.LANCZOS
        inits = [member.request.init_image.convert("RGB").resize(self.size, lanczos)
                 for member in self.members for _ in member.seeds]
        return self._call(self.pipes.image(), seeds, 0, self.params.steps, image=inits,
                          strength=self.params.strength)

    def _prompts(self, count: int, per_seed: bool) -> dict[str, Any]:
        prompts, negatives = [], []
        for member in self.members:
            prompts += [member.params.prompt] * len(member.seeds)
            # diffusers reads no negative prompt as "": the same embedding either way.
            negatives += [member.params.negative_prompt or ""] * len(member.seeds)
        return {"prompt": prompts, "num_images_per_prompt": 1,
                "negative_prompt": negatives if any(negatives) else None}

    def _step(self, step: int, total: int, latents: Any) -> None:
        offset = 0
        with_preview = self._preview_due(step)  # every member's preview, or none
        for member in self.members:
            count = len(member.seeds)
            request = member.request
            if member.stopped is None and request.should_stop():
                member.stopped = (step, total)
                if request.on_stopped is not None:
                    request.on_stopped(step, total)
            elif member.stopped is None and request.on_step is not None:
                self._report(step, total, latents[offset:offset + count], request.on_step,
                             with_preview)
            offset += count
        if all(member.stopped for member in self.members):
            raise GenerationCancelled(step, total)


def generate_batch(engine: Any, requests: list[BatchRequest], *, preview_every: int | None = 1,
                   preview_denoised: bool = True, preview_max_side: int = 256,
                   preview_interval: float = 0.0) -> list[Any | None]:
    """Run compatible requests as one call: a GenerationResult per member, or None
    for a member that was stopped. Raises GenerationCancelled when every member stopped."""
    from daydream.engine.pipeline import GenerationResult

    check_compatible(requests)
    img2img = requests[0].init_image is not None
    if img2img and engine.is_inpainting_model:
        raise GenerationError("an inpainting model runs img2img one task at a time")
    members = []
    for request in requests:
        params = validate_params(request.params, ENGINE_LIMITS, img2img=img2img)
        first = params.seed if params.seed is not None else secrets.randbelow(MAX_SEED + 1)
        seeds = [(first + i) % (MAX_SEED + 1) for i in range(params.samples)]
        members.append(_Member(request, dataclasses.replace(params, seed=first), seeds))
    seen = [dataclasses.replace(m.params, prompt=extract_loras(m.params.prompt)[0])
            for m in members]
    with engine._lock:
        run = BatchRun(engine._pipes(), [dataclasses.replace(m, params=p)
                                         for m, p in zip(members, seen, strict=True)],
                       preview_every=preview_every, preview_denoised=preview_denoised,
                       preview_max_side=preview_max_side, preview_interval=preview_interval)
        for member in run.members:
            if member.request.should_stop():  # stopped before anything ran
                member.stopped = (0, 0)
                if member.request.on_stopped is not None:
                    member.request.on_stopped(0, 0)
        if all(member.stopped for member in run.members):
            raise GenerationCancelled(0, 0)
        try:
            images = run.images()
        except (GenerationCancelled, GenerationError):
            raise
        except Exception as exc:
            raise GenerationError(f"generation failed: {type(exc).__name__}: {exc}") from exc
        nsfw = engine._safety.check(images) if engine._safety else [False] * len(images)
        seconds = time.perf_counter() - run.started
        results: list[Any | None] = []
        offset = 0
        for original, member in zip(members, run.members, strict=True):
            count = len(member.seeds)
            results.append(None if member.stopped else GenerationResult(
                images=images[offset:offset + count], seeds=member.seeds,
                nsfw=nsfw[offset:offset + count], steps_run=run.done, seconds=seconds,
                params=original.params, model_name=engine.model_name, img2img=img2img,
                model_hash=engine.model_hash))
            offset += count
        return results
