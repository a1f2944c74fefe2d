"""Generation parameters, their limits and validation (pure Python: no torch here)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from daydream.engine.errors import ParamError

__all__ = [
    "ENGINE_LIMITS",
    "MAX_SEED",
    "SCHEDULERS",
    "GenerationParams",
    "Limits",
    "ParamError",
    "canonical_scheduler",
    "hires_size",
    "validate",
    "validate_params",
]

# A1111 sampler names, in the order a menu should show them. The mapping to diffusers
# scheduler classes lives in schedulers.py (which needs torch).
SCHEDULERS: tuple[str, ...] = (
    "Euler a",
    "Euler",
    "LMS",
    "LMS Karras",
    "DPM++ 2M",
    "DPM++ 2M Karras",
    "DPM++ 2M SDE",
    "DPM++ 2M SDE Karras",
    "DDIM",
    "PLMS",
    "UniPC",
)

# Other spellings people and A1111 clients send, mapped to the names above.
_ALIASES = {
    "pndm": "PLMS",
    "euler_a": "Euler a",
    "k_euler_a": "Euler a",
    "k_euler": "Euler",
    "k_lms": "LMS",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
}

MAX_SEED = 2**32 - 1


@dataclass
class GenerationParams:
    """Everything one generation task needs besides the model and an init image."""

    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    steps: int = 20
    cfg_scale: float = 7.0
    samples: int = 1
    seed: int | None = None
    scheduler: str = "Euler a"
    strength: float = 0.75  # img2img/inpaint, and the hires pass: how much is re-noised
    n_iter: int = 1  # batches of ``samples`` run one after another; seeds continue
    # Inpainting (when a mask is given): white = repaint.
    mask_blur: int = 4
    inpainting_fill: str = "original"  # fill | original | latent noise | latent nothing
    inpaint_full_res: bool = False  # repaint only the masked area, at full width × height
    inpaint_full_res_padding: int = 32
    # Hires fix (txt2img): a second img2img pass at the larger size.
    enable_hr: bool = False
    hr_scale: float = 2.0
    hr_upscaler: str = "Latent"  # Latent | Lanczos
    hr_second_pass_steps: int = 0  # 0: the same as ``steps``
    hr_resize_x: int = 0
    hr_resize_y: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationParams:
        """Build from a mapping, ignoring keys that are not fields (e.g. parsed metadata)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, JSON-serialisable."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Limits:
    """Bounds a deployment allows; the web app builds one from its configuration."""

    max_prompt_chars: int = 1000
    max_pixels: int = 512 * 512
    max_side: int = 1024
    min_side: int = 64
    min_steps: int = 1
    max_steps: int = 100
    min_cfg: float = 1.0
    max_cfg: float = 30.0
    max_samples: int = 4
    max_strength: float = 1.0


# What the engine itself accepts: only sanity bounds, the deployment's limits are the web
# app's business (a worker must not refuse work the site accepted).
ENGINE_LIMITS = Limits(
    max_prompt_chars=100_000,
    max_pixels=4096 * 4096,
    max_side=4096,
    min_side=8,
    max_steps=1000,
    min_cfg=0.0,
    max_cfg=100.0,
    max_samples=64,
)


def hires_size(values: Mapping[str, Any]) -> tuple[int, int]:
    """The hires pass's size: hr_resize_x/y when set (one alone keeps the aspect ratio),
    else width and height × hr_scale; rounded down to multiples of 8, as A1111 does."""
    width, height = int(values["width"]), int(values["height"])
    x, y = int(values.get("hr_resize_x") or 0), int(values.get("hr_resize_y") or 0)
    if x and y:
        return x, y
    if x:
        return x, int(height * x / width) // 8 * 8
    if y:
        return int(width * y / height) // 8 * 8, y
    scale = float(values.get("hr_scale") or 1)
    return int(width * scale) // 8 * 8, int(height * scale) // 8 * 8


def canonical_scheduler(name: str) -> str | None:
    """Return the canonical A1111 name for ``name`` (case-insensitive, aliases), or None."""
    key = " ".join(str(name).split()).lower()
    for known in SCHEDULERS:
        if known.lower() == key:
            return known
    return _ALIASES.get(key.replace(" ", "_"))


def as_int(value: Any) -> int | None:
    """Coerce ints, integral floats and digit strings; None when not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_float(value: Any) -> float | None:
    """Coerce numbers and numeric strings to a finite float; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float (401 digits) is no number here
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _fmt(number: float) -> str:
    """Print 7.0 as 7 and 7.5 as 7.5 in messages."""
    return str(int(number)) if float(number).is_integer() else str(number)


def validate_params(
    params: GenerationParams | Mapping[str, Any],
    limits: Limits | None = None,
    *,
    img2img: bool = False,
) -> GenerationParams:
    """Check every field against ``limits``; return normalised params or raise ParamError."""
    limits = limits or Limits()
    if isinstance(params, Mapping):
        unknown = sorted(set(params) - {f.name for f in fields(GenerationParams)})
        if unknown:
            raise ParamError({name: f"{name} is not a known parameter" for name in unknown})
        if "prompt" not in params:
            raise ParamError("prompt", "prompt is required")
        params = GenerationParams.from_dict(params)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    for name in ("prompt", "negative_prompt"):
        text = getattr(params, name)
        if text is None and name == "negative_prompt":
            text = ""
        if not isinstance(text, str):
            errors[name] = f"{name} must be text"
        elif len(text) > limits.max_prompt_chars:
            errors[name] = f"{name} must be at most {limits.max_prompt_chars} characters"
        else:
            out[name] = text

    for name in ("width", "height"):
        side = as_int(getattr(params, name))
        if side is None or side % 8 or not limits.min_side <= side <= limits.max_side:
            errors[name] = (
                f"{name} must be a multiple of 8 between {limits.min_side} and {limits.max_side}"
            )
        else:
            out[name] = side
    if "width" in out and "height" in out and out["width"] * out["height"] > limits.max_pixels:
        errors["size"] = (
            f"width × height must be at most {limits.max_pixels} pixels "
            f"(asked {out['width']}x{out['height']} = {out['width'] * out['height']})"
        )

    steps = as_int(params.steps)
    if steps is None or not limits.min_steps <= steps <= limits.max_steps:
        errors["steps"] = (
            f"steps must be a whole number between {limits.min_steps} and {limits.max_steps}"
        )
    else:
        out["steps"] = steps

    cfg = as_float(params.cfg_scale)
    if cfg is None or not limits.min_cfg <= cfg <= limits.max_cfg:
        errors["cfg_scale"] = (
            f"cfg_scale must be a number between {_fmt(limits.min_cfg)} and {_fmt(limits.max_cfg)}"
        )
    else:
        out["cfg_scale"] = cfg

    samples = as_int(params.samples)
    if samples is None or not 1 <= samples <= limits.max_samples:
        errors["samples"] = f"samples must be a whole number between 1 and {limits.max_samples}"
    else:
        out["samples"] = samples

    if params.seed is None or (isinstance(params.seed, str) and not params.seed.strip()):
        out["seed"] = None
    else:
        seed = as_int(params.seed)
        if seed == -1:  # A1111 clients send -1 for "random"
            out["seed"] = None
        elif seed is None or not 0 <= seed <= MAX_SEED:
            errors["seed"] = f"seed must be empty (random) or a whole number from 0 to {MAX_SEED}"
        else:
            out["seed"] = seed

    scheduler = canonical_scheduler(params.scheduler) if isinstance(params.scheduler, str) else None
    if scheduler is None:
        errors["scheduler"] = "scheduler must be one of: " + ", ".join(SCHEDULERS)
    else:
        out["scheduler"] = scheduler

    strength = as_float(params.strength)
    if strength is None or not 0 < strength <= limits.max_strength:
        errors["strength"] = (
            f"strength must be a number above 0 and at most {_fmt(limits.max_strength)}"
        )
    else:
        out["strength"] = strength
        # diffusers runs int(steps * strength) steps for img2img; zero steps is an error there.
        if img2img and "steps" in out and int(out["steps"] * strength) < 1:
            errors["strength"] = (
                f"strength × steps must give at least one step (strength {_fmt(strength)} "
                f"with {out['steps']} steps gives none)"
            )

    n_iter = as_int(params.n_iter)
    if n_iter is None or not 1 <= n_iter <= limits.max_samples:
        errors["n_iter"] = f"n_iter must be a whole number between 1 and {limits.max_samples}"
    if errors:
        raise ParamError(errors)
    # The inpainting and hires settings are the web app's to validate; the engine only needs
    # the basic ones sane.
    return dataclasses.replace(params, **out)


validate = validate_params
