"""Optional NSFW check: flags images instead of silently blacking them out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from daydream.engine.errors import ModelLoadError

DEFAULT_CHECKER = "CompVis/stable-diffusion-safety-checker"


class SafetyChecker:
    """Wraps diffusers' StableDiffusionSafetyChecker and its CLIP image processor."""

    def __init__(self, checker: Any, processor: Any, device: torch.device, dtype: Any) -> None:
        self.checker = checker.to(device=device, dtype=dtype).eval()
        self.processor = processor
        self.device = device
        self.dtype = dtype

    @torch.no_grad()
    def check(self, images: list[Any]) -> list[bool]:
        """Return one flag per PIL image; the images themselves are left untouched."""
        features = self.processor(images, return_tensors="pt").pixel_values
        arrays = np.stack([np.asarray(im, dtype=np.float32) / 255.0 for im in images])
        # The checker zeroes flagged entries of the array it gets: hand it a throwaway copy.
        _, flags = self.checker(
            images=arrays.copy(), clip_input=features.to(self.device, self.dtype)
        )
        return [bool(flag) for flag in flags]


def load_safety_checker(source: str | None, device: torch.device, dtype: Any) -> SafetyChecker:
    """Load the checker from a local folder or a hub id already cached; never downloads."""
    from diffusers.pipelines.stable_diffusion.safety_checker import (
        StableDiffusionSafetyChecker,
    )
    from transformers import CLIPImageProcessor

    source = source or DEFAULT_CHECKER
    location = source
    if not Path(source).is_dir():
        from huggingface_hub import snapshot_download

        try:
            location = snapshot_download(source, local_files_only=True)
        except Exception as exc:
            raise ModelLoadError(
                f"safety checker {source!r} is neither a folder nor in the local Hugging Face "
                f"cache; fetch it first with `hf download {source}` or turn the checker off"
            ) from exc
    try:
        checker = StableDiffusionSafetyChecker.from_pretrained(location, local_files_only=True)
        processor = CLIPImageProcessor.from_pretrained(location, local_files_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"could not load safety checker from {source!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return SafetyChecker(checker, processor, device, dtype)
