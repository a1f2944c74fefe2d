"""The one definition of a generation request: its mode and every parameter.

Each ``Param`` says what it is (kind, default, limits, help text) and what it is called on
every surface: the task row column, the A1111 request field and the PNG infotext key. The
task row, validation (``validate.py``), the studio form, the native API's JSON Schema, the
A1111 mapping, the infotext and the worker's engine call are all built from ``PARAMS``;
``tests/test_request_type.py`` fails when any surface drifts from it. Pure Python: the web
process imports it, and so does the worker.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from daydream.engine.params import MAX_SEED, SCHEDULERS, Limits


class Mode(enum.StrEnum):
    """What a task does: from a prompt, from an init image, or repaint a masked area."""

    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"

    @classmethod
    def of(cls, has_init: bool, has_mask: bool) -> Mode:
        """The mode a request with (or without) an init image and a mask asks for."""
        if has_mask:
            return cls.INPAINT
        return cls.IMG2IMG if has_init else cls.TXT2IMG

    @property
    def uses_init_image(self) -> bool:
        """Whether this mode starts from an init image."""
        return self is not Mode.TXT2IMG


ALL_MODES = frozenset(Mode)
IMAGE_MODES = frozenset({Mode.IMG2IMG, Mode.INPAINT})

# The A1111 ``hr_upscaler`` values Daydream runs; A1111's other "Latent (…)" names map to
# Latent, see ``canonical_upscaler``.
UPSCALERS = ("Latent", "Lanczos")
# A1111's ``inpainting_fill`` values, in its order (the index is what its API sends).
INPAINT_FILLS = ("fill", "original", "latent noise", "latent nothing")


@dataclass(frozen=True)
class Param:
    """One parameter of a generation request, and its name on every surface."""

    name: str  # native API, studio form and engine field name
    kind: str  # text | int | float | bool | choice | seed
    default: Any
    label: str
    help: str
    minimum: float | str | None = None  # a number, or the name of a ``Limits`` field
    maximum: float | str | None = None
    exclusive_minimum: bool = False
    multiple_of: int | None = None
    step: float | None = None  # the studio slider's step
    choices: tuple[str, ...] = ()
    modes: frozenset[Mode] = ALL_MODES
    column: str | None = None  # the task row column, when it differs from ``name``
    a1111: str | None = None  # the A1111 request field, when it differs from ``name``
    infotext: str | None = None  # the key in the PNG ``parameters`` text, if written there
    in_studio: bool = True
    required: bool = False
    nullable: bool = False  # stored as None (not the default) where it means nothing

    @property
    def column_name(self) -> str:
        """The task row column holding this parameter."""
        return self.column or self.name

    @property
    def a1111_name(self) -> str:
        """The field A1111's txt2img/img2img request uses for it."""
        return self.a1111 or self.name

    def bound(self, which: str, limits: Limits) -> float | None:
        """The minimum or maximum, resolved against a deployment's limits."""
        value = self.minimum if which == "minimum" else self.maximum
        return getattr(limits, value) if isinstance(value, str) else value

    def applies_to(self, mode: Mode, values: dict[str, Any] | None = None) -> bool:
        """Whether the parameter means anything for ``mode`` (hires settings need enable_hr)."""
        if self.name == "strength" and mode is Mode.TXT2IMG:
            return bool(values and values.get("enable_hr"))  # the hires pass's denoising
        if self.name.startswith("hr_"):
            return mode is Mode.TXT2IMG and bool(values and values.get("enable_hr"))
        return mode in self.modes


_TXT = frozenset({Mode.TXT2IMG})
_INPAINT = frozenset({Mode.INPAINT})

PARAMS: tuple[Param, ...] = (
    Param("prompt", "text", "", "Prompt",
          "Describe what you want to see: subject, setting, style, light.",
          maximum="max_prompt_chars", required=True),
    Param("negative_prompt", "text", "", "Negative prompt", "What the image should avoid.",
          maximum="max_prompt_chars", infotext="Negative prompt"),
    Param("steps", "int", 20, "Steps",
          "Denoising steps. More refine detail and take longer; 20–30 is typical.",
          minimum="min_steps", maximum="max_steps", step=1, infotext="Steps"),
    Param("cfg_scale", "float", 7.0, "Guidance (CFG)",
          "How closely to follow the prompt. Low is freer, high is stricter; 6–9 is typical.",
          minimum="min_cfg", maximum="max_cfg", step=0.5, column="guidance",
          infotext="CFG scale"),
    Param("width", "int", 512, "Width", "Image width in pixels, a multiple of 8.",
          minimum="min_side", maximum="max_side", multiple_of=8, step=8),
    Param("height", "int", 512, "Height", "Image height in pixels, a multiple of 8.",
          minimum="min_side", maximum="max_side", multiple_of=8, step=8),
    Param("samples", "int", 1, "Samples",
          "How many images to make at once. Each gets its own seed: the first uses the "
          "seed, the next seed + 1, and so on.",
          minimum=1, maximum="max_samples", step=1, a1111="batch_size"),
    Param("n_iter", "int", 1, "Batch count",
          "How many batches of samples to run one after another (A1111's n_iter); the seeds "
          "continue from one batch to the next.", minimum=1, maximum="max_samples",
          in_studio=False),
    Param("seed", "seed", None, "Seed",
          "The starting noise. Same seed + same settings = the same image. Empty or -1: "
          "random; the real seed is always shown on the result.", minimum=-1,
          maximum=MAX_SEED, infotext="Seed"),
    Param("scheduler", "choice", "Euler a", "Sampler",
          "The denoising method. Euler a is quick and varied; DPM++ 2M Karras is sharp at "
          "few steps.", choices=SCHEDULERS, a1111="sampler_name", infotext="Sampler"),
    Param("strength", "float", 0.75, "Strength",
          "How much of the starting image is repainted: low keeps it, 1 ignores it. With "
          "hires fix: how much the second pass repaints.", minimum=0, exclusive_minimum=True,
          maximum="max_strength", step=0.05, modes=IMAGE_MODES, a1111="denoising_strength",
          infotext="Denoising strength", nullable=True),
    Param("mask_blur", "int", 4, "Mask blur",
          "Soften the mask's edge by this many pixels, so the repainted area blends in.",
          minimum=0, maximum=64, step=1, modes=_INPAINT, infotext="Mask blur"),
    Param("inpainting_fill", "choice", "original", "Masked content",
          "What the masked area starts from: the original picture, its surrounding colours "
          "(fill), random noise or a flat grey (latent nothing).", choices=INPAINT_FILLS,
          modes=_INPAINT, infotext="Masked content"),
    Param("inpaint_full_res", "bool", False, "Only masked area at full resolution",
          "Repaint just the area around the mask at the full width × height, then paste it "
          "back: more detail for small areas.", modes=_INPAINT, infotext="Inpaint area"),
    Param("inpaint_full_res_padding", "int", 32, "Padding around the masked area",
          "Pixels of context kept around the mask when repainting only the masked area.",
          minimum=0, maximum=256, step=8, modes=_INPAINT, infotext="Masked area padding"),
    Param("enable_hr", "bool", False, "Hires fix",
          "Make the image at this size, upscale it, then repaint it at the larger size: "
          "more detail than generating large at once.", modes=_TXT),
    Param("hr_scale", "float", 2.0, "Upscale by",
          "How much larger the second pass is (unless a width or height is set below).",
          minimum=1, maximum=4, step=0.05, modes=_TXT, infotext="Hires upscale"),
    Param("hr_upscaler", "choice", "Latent", "Upscaler",
          "Latent upscales the latents (soft, needs strength ≥ 0.5); Lanczos upscales the "
          "picture (keeps it, works at low strength).", choices=UPSCALERS, modes=_TXT,
          infotext="Hires upscaler"),
    Param("hr_second_pass_steps", "int", 0, "Hires steps",
          "Steps of the second pass; 0 uses the same number as the first.", minimum=0,
          maximum="max_steps", step=1, modes=_TXT, infotext="Hires steps"),
    Param("hr_resize_x", "int", 0, "Resize width to",
          "Final width (a multiple of 8); 0 follows 'Upscale by'.", minimum=0,
          maximum="max_side", multiple_of=8, step=8, modes=_TXT),
    Param("hr_resize_y", "int", 0, "Resize height to",
          "Final height (a multiple of 8); 0 follows 'Upscale by'.", minimum=0,
          maximum="max_side", multiple_of=8, step=8, modes=_TXT),
)

BY_NAME: dict[str, Param] = {param.name: param for param in PARAMS}


def param(name: str) -> Param:
    """The parameter called ``name``."""
    return BY_NAME[name]


def defaults() -> dict[str, Any]:
    """Every parameter's default value."""
    return {p.name: p.default for p in PARAMS}


def canonical_upscaler(name: Any) -> str | None:
    """Our upscaler for an A1111 ``hr_upscaler`` name (every "Latent (…)" is Latent)."""
    if name is None or (isinstance(name, str) and not name.strip()):
        return "Latent"
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    if key.startswith("latent"):
        return "Latent"
    if key.startswith("lanczos") or key == "none":  # A1111's "None" resizes with Lanczos
        return "Lanczos"
    return None


def row_values(values: dict[str, Any]) -> dict[str, Any]:
    """Task row column values for validated request values."""
    return {p.column_name: values[p.name] for p in PARAMS if p.name in values}


def from_row(task: Any) -> dict[str, Any]:
    """The request values stored on a task row (what reuse, the API and the worker read)."""
    return {p.name: getattr(task, p.column_name) for p in PARAMS}
