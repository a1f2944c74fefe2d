"""The Engine: one loaded model, txt2img and img2img, progress, previews, cancel."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from daydream.engine.errors import (
    EngineError,
    GenerationCancelled,
    GenerationError,
    ModelLoadError,
)
from daydream.engine.loader import LoadedModel, check_supported, load_model
from daydream.engine.metadata import png_bytes_with_metadata
from daydream.engine.params import ENGINE_LIMITS, MAX_SEED, GenerationParams, validate_params
from daydream.engine.preview import capture_x0, factors_for, latents_to_jpeg
from daydream.engine.schedulers import make_scheduler

__all__ = [
    "PROFILES",
    "Engine",
    "EngineError",
    "GenerationCancelled",
    "GenerationError",
    "GenerationResult",
    "ModelLoadError",
    "StepProgress",
]

PROFILES = ("default", "low-vram", "cpu-offload")


@dataclass
class StepProgress:
    """One denoising step done: counts are 1-based, times in seconds."""

    step: int
    total: int
    elapsed: float
    eta: float
    preview_jpeg: bytes | None = None


@dataclass
class GenerationResult:
    """Images of one call, with the seed of each and whether the NSFW check flagged it."""

    images: list[Image.Image]
    seeds: list[int]
    nsfw: list[bool]
    steps_run: int
    seconds: float
    params: GenerationParams  # normalised, with the real first seed
    model_name: str
    img2img: bool = False

    def png_bytes(self, index: int, extra: dict[str, Any] | None = None) -> bytes:
        """PNG of image ``index`` with A1111 ``parameters`` and ``daydream`` metadata."""
        return png_bytes_with_metadata(
            self.images[index],
            self.params,
            self.seeds[index],
            self.model_name,
            extra,
            img2img=self.img2img,
        )


def resolve_device(device: str | None) -> torch.device:
    """CUDA when available, else CPU; an explicit device must exist."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"unknown device {device!r}: {exc}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} requested but CUDA is not available here")
    return resolved


def _stop_check(should_stop: Any) -> Callable[[], bool]:
    """Accept a callable, a ``threading.Event`` (anything with ``is_set``) or None."""
    if should_stop is None:
        return lambda: False
    if hasattr(should_stop, "is_set"):
        return should_stop.is_set
    return should_stop


class Engine:
    """A loaded model that generates images; one generation at a time (thread-safe)."""

    def __init__(
        self,
        loaded: LoadedModel,
        device: torch.device,
        profile: str = "default",
        safety: Any = None,
    ) -> None:
        self._loaded = loaded
        self.device = device
        self.profile = profile
        self._safety = safety
        self._txt2img = loaded.pipe
        self._img2img: Any = None
        self._scheduler_config = dict(loaded.pipe.scheduler.config)
        self._factors = factors_for(loaded.pipe)
        self._lock = threading.Lock()
        self._txt2img.set_progress_bar_config(disable=True)

    @classmethod
    def load(
        cls,
        model: str | Path | None,
        cache_dir: Path,
        device: str | None = None,
        profile: str = "default",
        *,
        config: str | None = None,
        safety_checker: bool | str = False,
    ) -> Engine:
        """Load ``model`` (None: the demo model, built in ``cache_dir``) onto a device.

        ``profile``: "default", "low-vram" (fp16 on CUDA + attention/VAE slicing and VAE
        tiling) or "cpu-offload" (CUDA only; modules wait in RAM). ``config``: a diffusers
        folder giving the architecture of a single-file checkpoint. ``safety_checker``: False,
        True (the CompVis checker from the local cache) or a folder / cached hub id.
        """
        if profile not in PROFILES:
            raise ModelLoadError(f"unknown memory profile {profile!r}; use one of {PROFILES}")
        dev = resolve_device(device)
        if profile == "cpu-offload" and dev.type != "cuda":
            raise ModelLoadError("the cpu-offload profile needs a CUDA device; use 'default'")
        # fp16 only on CUDA: on CPU it is ~60x slower and some kernels are missing.
        dtype = torch.float16 if dev.type == "cuda" else torch.float32
        safety = None
        if safety_checker:
            from daydream.engine.safety import load_safety_checker

            source = safety_checker if isinstance(safety_checker, str) else None
            safety = load_safety_checker(source, dev, dtype)
        loaded = load_model(model, Path(cache_dir), dtype=dtype, config=config)
        check_supported(loaded.pipe, loaded.name)
        try:
            if profile == "cpu-offload":
                loaded.pipe.enable_model_cpu_offload(device=dev)
            else:
                loaded.pipe.to(dev)
            if profile == "low-vram":
                loaded.pipe.enable_attention_slicing()
                loaded.pipe.vae.enable_slicing()
                loaded.pipe.vae.enable_tiling()
        except Exception as exc:
            raise ModelLoadError(f"could not place {loaded.name} on {dev}: {exc}") from exc
        return cls(loaded, dev, profile, safety)

    @property
    def model_name(self) -> str:
        """Name written into metadata: "daydream-demo", a file stem, folder name or hub id."""
        return self._loaded.name

    @property
    def is_demo(self) -> bool:
        """True for the random-weight demo model (its images are noise)."""
        return self._loaded.is_demo

    @property
    def source(self) -> str:
        """Where the model came from: demo, folder, single-file or hub-cache."""
        return self._loaded.source

    @property
    def dtype(self) -> torch.dtype:
        """Weights' dtype (float16 on CUDA, float32 on CPU)."""
        return self._txt2img.unet.dtype

    def _image_pipe(self) -> Any:
        """The img2img pipeline, sharing every component with txt2img (built on first use)."""
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            self._img2img = AutoPipelineForImage2Image.from_pipe(self._txt2img)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def generate(
        self,
        params: GenerationParams,
        init_image: Image.Image | None = None,
        on_step: Callable[[StepProgress], None] | None = None,
        should_stop: Callable[[], bool] | threading.Event | None = None,
        preview_every: int | None = 1,
        *,
        preview_denoised: bool = True,
        preview_max_side: int = 256,
    ) -> GenerationResult:
        """Generate ``params.samples`` images (img2img when ``init_image`` is given).

        Seeds are ``seed, seed+1, ...`` (random first seed when None). ``on_step`` gets a
        StepProgress after each step, with a JPEG preview every ``preview_every`` steps
        (0/None: none). ``should_stop`` is checked each step; when it fires the run stops
        with GenerationCancelled and nothing is decoded.
        """
        img2img = init_image is not None
        params = validate_params(params, ENGINE_LIMITS, img2img=img2img)
        stop = _stop_check(should_stop)
        first = params.seed if params.seed is not None else secrets.randbelow(MAX_SEED + 1)
        seeds = [(first + i) % (MAX_SEED + 1) for i in range(params.samples)]
        params = dataclasses.replace(params, seed=first)
        with self._lock:
            pipe = self._image_pipe() if img2img else self._txt2img
            pipe.scheduler = make_scheduler(params.scheduler, self._scheduler_config)
            x0: list[Any] = [None]
            if preview_denoised and on_step and preview_every:
                capture_x0(pipe.scheduler, x0)
            size = (params.width, params.height)
            start = time.perf_counter()

            def callback(p: Any, index: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
                step, total = index + 1, p.num_timesteps
                if stop():
                    raise GenerationCancelled(step, total)
                if on_step is not None:
                    elapsed = time.perf_counter() - start
                    jpeg = None
                    if self._factors is not None and preview_every and step % preview_every == 0:
                        latents = x0[0] if x0[0] is not None else tensors["latents"]
                        jpeg = latents_to_jpeg(latents, self._factors, max_side=preview_max_side)
                    eta = elapsed / step * (total - step)
                    on_step(StepProgress(step, total, elapsed, eta, jpeg))
                return tensors

            kwargs: dict[str, Any] = {
                "prompt": params.prompt,
                "negative_prompt": params.negative_prompt or None,
                "num_inference_steps": params.steps,
                "guidance_scale": params.cfg_scale,
                "num_images_per_prompt": params.samples,
                # CPU generators: the same seed gives the same noise on any device.
                "generator": [torch.Generator("cpu").manual_seed(s) for s in seeds],
                "callback_on_step_end": callback,
            }
            if img2img:
                kwargs["image"] = init_image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
                kwargs["strength"] = params.strength
            else:
                kwargs.update(width=params.width, height=params.height)
            if stop():
                raise GenerationCancelled(0, 0)
            try:
                output = pipe(**kwargs)
            except GenerationCancelled:
                raise
            except Exception as exc:
                raise GenerationError(f"generation failed: {type(exc).__name__}: {exc}") from exc
            images = list(output.images)
            nsfw = self._safety.check(images) if self._safety else [False] * len(images)
            return GenerationResult(
                images=images,
                seeds=seeds,
                nsfw=nsfw,
                steps_run=pipe.num_timesteps,
                seconds=time.perf_counter() - start,
                params=params,
                model_name=self.model_name,
                img2img=img2img,
            )
