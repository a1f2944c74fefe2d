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
from daydream.engine.lora import applied_loras
from daydream.engine.metadata import png_bytes_with_metadata
from daydream.engine.params import ENGINE_LIMITS, MAX_SEED, GenerationParams, validate_params
from daydream.engine.preview import factors_for
from daydream.engine.prompt import extract_loras
from daydream.engine.runner import Pipes, Run

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
    mask: bool = False
    model_hash: str | None = None

    def png_bytes(self, index: int, extra: dict[str, Any] | None = None) -> bytes:
        """PNG of image ``index`` with A1111 ``parameters`` and ``daydream`` metadata."""
        return png_bytes_with_metadata(
            self.images[index],
            self.params,
            self.seeds[index],
            self.model_name,
            extra,
            img2img=self.img2img,
            mask=self.mask,
            model_hash=self.model_hash,
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
        hash_cache: Path | None = None,
        lora_dir: str | Path | None = None,
    ) -> None:
        self._loaded = loaded
        self.device = device
        self.profile = profile
        self._safety = safety
        self._txt2img = loaded.pipe
        self._img2img: Any = None
        self._inpaint: Any = None
        self._scheduler_config = dict(loaded.pipe.scheduler.config)
        self._factors = factors_for(loaded.pipe)
        self._lock = threading.Lock()
        self._txt2img.set_progress_bar_config(disable=True)
        self._hash_cache = hash_cache
        self.lora_dir = lora_dir
        self._model_hash: str | None = None

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
        lora_dir: str | Path | None = None,
    ) -> Engine:
        """Load ``model`` (None: the demo model, built in ``cache_dir``) onto a device.

        ``profile``: "default", "low-vram" (fp16 on CUDA + attention/VAE slicing and VAE
        tiling) or "cpu-offload" (CUDA only; modules wait in RAM). ``config``: a diffusers
        folder giving the architecture of a single-file checkpoint. ``safety_checker``: False,
        True (the CompVis checker from the local cache) or a folder / cached hub id.
        ``lora_dir``: where ``<lora:name:weight>`` in prompts finds ``name.safetensors``.
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
        return cls(loaded, dev, profile, safety, Path(cache_dir) / "hashes.json", lora_dir)

    @property
    def model_name(self) -> str:
        """Name written into metadata: "daydream-demo", a file stem, folder name or hub id."""
        return self._loaded.name

    @property
    def model_hash(self) -> str | None:
        """A1111's short hash of the checkpoint (a folder's UNet weights); hashed once."""
        if self._model_hash is None and self._loaded.path is not None:
            from daydream.engine.hashing import short_hash

            self._model_hash = short_hash(self._loaded.path, self._hash_cache)
        return self._model_hash

    @property
    def weights_bytes(self) -> int:
        """Memory the model's weights take (every component's parameters and buffers)."""
        total = 0
        for component in self._txt2img.components.values():
            if isinstance(component, torch.nn.Module):
                total += sum(t.numel() * t.element_size() for t in component.parameters())
                total += sum(t.numel() * t.element_size() for t in component.buffers())
        return total

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

    @property
    def is_inpainting_model(self) -> bool:
        """A dedicated inpainting checkpoint (9-channel UNet: latents, mask, masked image)."""
        return self._txt2img.unet.config.in_channels == 9

    def _image_pipe(self) -> Any:
        """The img2img pipeline, sharing every component with txt2img (built on first use)."""
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            self._img2img = AutoPipelineForImage2Image.from_pipe(self._txt2img)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def _inpaint_pipe(self) -> Any:
        """The inpainting pipeline, sharing every component (works with 4- and 9-channel UNets)."""
        if self._inpaint is None:
            from diffusers import AutoPipelineForInpainting

            self._inpaint = AutoPipelineForInpainting.from_pipe(self._txt2img)
            self._inpaint.set_progress_bar_config(disable=True)
        return self._inpaint

    def _pipes(self) -> Pipes:
        return Pipes(self._txt2img, self._image_pipe, self._inpaint_pipe,
                     self._scheduler_config, self._factors, self.is_inpainting_model)

    def generate_batch(self, requests: list[Any], **options: Any) -> list[Any]:
        """Several people's compatible txt2img requests in one call (see engine/batch.py)."""
        from daydream.engine.batch import generate_batch

        return generate_batch(self, requests, **options)

    def generate(
        self,
        params: GenerationParams,
        init_image: Image.Image | None = None,
        on_step: Callable[[StepProgress], None] | None = None,
        should_stop: Callable[[], bool] | threading.Event | None = None,
        preview_every: int | None = 1,
        *,
        mask: Image.Image | None = None,
        preview_denoised: bool = True,
        preview_max_side: int = 256,
        preview_interval: float = 0.0,
    ) -> GenerationResult:
        """Generate ``samples × n_iter`` images: txt2img, img2img with ``init_image``, or
        inpainting with ``init_image`` and ``mask`` (white = repaint); hires fix on txt2img.

        Seeds are ``seed, seed+1, ...`` (random first seed when None). ``on_step`` gets a
        StepProgress after each step, counted across every pass, with a JPEG preview every
        ``preview_every`` steps (0/None: none), at most one per ``preview_interval``
        seconds. ``should_stop`` is checked each step; when
        it fires the run stops with GenerationCancelled and nothing is decoded.
        """
        if mask is not None and init_image is None:
            raise GenerationError("inpainting needs an init image under the mask")
        img2img = init_image is not None
        params = validate_params(params, ENGINE_LIMITS, img2img=img2img)
        first = params.seed if params.seed is not None else secrets.randbelow(MAX_SEED + 1)
        count = params.samples * params.n_iter
        seeds = [(first + i) % (MAX_SEED + 1) for i in range(count)]
        params = dataclasses.replace(params, seed=first)
        prompt, loras = extract_loras(params.prompt)  # tags stay in params (the infotext)
        with self._lock:
            run = Run(self._pipes(), dataclasses.replace(params, prompt=prompt), init=init_image,
                      mask=mask, on_step=on_step, stop=_stop_check(should_stop),
                      preview_every=preview_every, preview_denoised=preview_denoised,
                      preview_max_side=preview_max_side, preview_interval=preview_interval)
            if run.stop():
                raise GenerationCancelled(0, 0)
            images: list[Image.Image] = []
            try:
                # Every pipeline shares txt2img's UNet and text encoders: the LoRAs reach all.
                with applied_loras(self._txt2img, loras, self.lora_dir):
                    for batch in range(params.n_iter):
                        images += run.batch(seeds[batch * params.samples:][:params.samples])
            except (GenerationCancelled, GenerationError):
                raise
            except Exception as exc:
                raise GenerationError(f"generation failed: {type(exc).__name__}: {exc}") from exc
            nsfw = self._safety.check(images) if self._safety else [False] * len(images)
            return GenerationResult(
                images=images,
                seeds=seeds,
                nsfw=nsfw,
                steps_run=run.done,
                seconds=time.perf_counter() - run.started,
                params=params,
                model_name=self.model_name,
                img2img=img2img,
                mask=mask is not None,
                model_hash=self.model_hash,
            )
