"""How much work a request is: the passes it runs, the steps that really run, its price.

The one price: ``cost`` is what the server charges, what the quote endpoint shows the
studio and what the API's dry run answers (tests/test_request_type.py ties them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from daydream.engine.params import hires_size
from daydream.generation.request import Mode


def steps_that_run(steps: int, strength: float | None, from_image: bool) -> int:
    """Denoising steps that really run: from an image, int(steps × strength), at least 1."""
    if from_image and strength is not None:
        return max(1, int(steps * strength))
    return steps


def passes(values: Mapping[str, Any], mode: Mode | str) -> list[tuple[int, int, int]]:
    """(width, height, steps that run) of each pass one image goes through."""
    mode = Mode(mode)
    first = (values["width"], values["height"],
             steps_that_run(values["steps"], values.get("strength"), mode.uses_init_image))
    if mode is not Mode.TXT2IMG or not values.get("enable_hr"):
        return [first]
    width, height = hires_size(values)
    steps = values.get("hr_second_pass_steps") or values["steps"]
    return [first, (width, height, steps_that_run(steps, values.get("strength"), True))]


def images(values: Mapping[str, Any]) -> int:
    """Images one task makes: samples per batch × batches."""
    return (values.get("samples") or 1) * (values.get("n_iter") or 1)


def total_steps(values: Mapping[str, Any], mode: Mode | str) -> int:
    """Steps the progress bar counts: every pass of every batch."""
    return sum(steps for _, _, steps in passes(values, mode)) * (values.get("n_iter") or 1)


def pixel_steps(values: Mapping[str, Any], mode: Mode | str) -> int:
    """Pixels × steps of every pass of every image: what price and time grow with."""
    per_image = sum(width * height * steps for width, height, steps in passes(values, mode))
    return per_image * images(values)


def megapixel_steps(values: Mapping[str, Any], mode: Mode | str) -> float:
    """The same work in megapixel-steps (the unit of the learned time rate)."""
    return pixel_steps(values, mode) / 1_000_000


def cost(values: Mapping[str, Any], mode: Mode | str, credit_pixel_steps: int,
         price_factor: float = 1.0) -> int:
    """Credits a request costs: pixel-steps of every pass × images (at least 1 credit),
    times the model's price factor, rounded up, at least 1."""
    base = max(1, math.ceil(pixel_steps(values, mode) / credit_pixel_steps))
    # An exact fraction: 10 credits × 1.1 must cost 11, not the 12 float rounding gives.
    return max(1, math.ceil(base * Fraction(str(price_factor))))
