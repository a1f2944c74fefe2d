"""Validating a generation request against a deployment's limits, driven by ``PARAMS``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daydream.engine.errors import ParamError
from daydream.engine.params import Limits, as_float, as_int, canonical_scheduler, hires_size
from daydream.generation.request import (
    BY_NAME,
    INPAINT_FILLS,
    PARAMS,
    Mode,
    Param,
    canonical_upscaler,
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _as_bool(value: Any) -> bool | None:
    """Booleans from JSON booleans, 0/1 and the words a form or A1111 client sends."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _fmt(number: float | None) -> str:
    """7.0 as 7, 7.5 as 7.5."""
    return str(int(number)) if number is not None and float(number).is_integer() else str(number)


def _choice(spec: Param, value: Any) -> str | None:
    """The canonical choice for ``value`` (sampler aliases, A1111 upscaler and fill names)."""
    if spec.name == "scheduler":
        return canonical_scheduler(value) if isinstance(value, str) else None
    if spec.name == "hr_upscaler":
        return canonical_upscaler(value)
    if spec.name == "inpainting_fill":
        index = as_int(value)
        if index is not None and 0 <= index < len(INPAINT_FILLS):
            return INPAINT_FILLS[index]  # A1111 sends the index
    return value if value in spec.choices else None


def _number(spec: Param, value: Any, limits: Limits) -> tuple[Any, str | None]:
    """A checked int or float, or the message saying what is wrong."""
    low, high = spec.bound("minimum", limits), spec.bound("maximum", limits)
    number = as_int(value) if spec.kind == "int" else as_float(value)
    whole = "a whole number" if spec.kind == "int" else "a number"
    if spec.multiple_of and (number is None or number % spec.multiple_of or
                             not low <= number <= high) and not (number == 0 == low):
        return None, (f"{spec.name} must be a multiple of {spec.multiple_of} between "
                      f"{_fmt(max(low, spec.multiple_of))} and {_fmt(high)}"
                      + (" (or 0)" if low == 0 else ""))
    if spec.exclusive_minimum:
        if number is None or not low < number <= high:
            return None, f"{spec.name} must be a number above {_fmt(low)} and at most {_fmt(high)}"
    elif number is None or not low <= number <= high:
        return None, f"{spec.name} must be {whole} between {_fmt(low)} and {_fmt(high)}"
    return number, None


def _seed(value: Any, spec: Param) -> tuple[int | None, str | None]:
    """None (random) for empty and -1; else a whole number in range."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    seed = as_int(value)
    if seed == -1:
        return None, None
    if seed is None or not 0 <= seed <= spec.maximum:
        return None, f"seed must be empty (random) or a whole number from 0 to {spec.maximum}"
    return seed, None


def check_value(spec: Param, value: Any, limits: Limits) -> tuple[Any, str | None]:
    """One parameter's normalised value, or the message saying what is wrong."""
    if spec.kind == "seed":
        return _seed(value, spec)
    if value is None:
        value = spec.default
    if spec.kind == "text":
        if not isinstance(value, str):
            return None, f"{spec.name} must be text"
        high = spec.bound("maximum", limits)
        if len(value) > high:
            return None, f"{spec.name} must be at most {high} characters"
        if spec.required and not value.strip():
            return None, f"{spec.name} is required: describe the image you want"
        return value, None
    if spec.kind == "bool":
        flag = _as_bool(value)
        return (flag, None) if flag is not None else (None, f"{spec.name} must be true or false")
    if spec.kind == "choice":
        chosen = _choice(spec, value)
        if chosen is None:
            return None, f"{spec.name} must be one of: " + ", ".join(spec.choices)
        return chosen, None
    return _number(spec, value, limits)


def _cross_checks(values: dict[str, Any], limits: Limits, mode: Mode, errors: dict) -> None:
    """Limits that span fields: pixels, images per task, steps that really run."""
    if "width" in values and "height" in values:
        width, height = values["width"], values["height"]
        if width * height > limits.max_pixels:
            errors["size"] = (f"width × height must be at most {limits.max_pixels} pixels "
                              f"(asked {width}x{height} = {width * height})")
    if "samples" in values and "n_iter" in values:
        images = values["samples"] * values["n_iter"]
        if images > limits.max_samples:
            errors["n_iter"] = (f"samples × n_iter asks for {images} images; at most "
                                f"{limits.max_samples} per task")
    strength, steps = values.get("strength"), values.get("steps")
    if mode.uses_init_image and strength and steps and int(steps * strength) < 1:
        errors["strength"] = (f"strength × steps must give at least one step (strength "
                              f"{_fmt(strength)} with {steps} steps gives none)")
    if values.get("enable_hr") and not errors.keys() & {"width", "height", "size"}:
        _hires_checks(values, limits, errors)


def _hires_checks(values: dict[str, Any], limits: Limits, errors: dict) -> None:
    """The second pass must fit the limits and run at least one step."""
    width, height = hires_size(values)
    if not (limits.min_side <= width <= limits.max_side and
            limits.min_side <= height <= limits.max_side):
        errors["hr_scale"] = (f"the hires pass would be {width}x{height}; each side must be "
                              f"between {limits.min_side} and {limits.max_side}")
    elif width * height > limits.max_pixels:
        errors["hr_scale"] = (f"the hires pass would be {width}x{height} = {width * height} "
                              f"pixels; at most {limits.max_pixels} here")
    elif (width, height) == (values["width"], values["height"]):
        errors["hr_scale"] = "the hires pass must be larger than the first pass"
    steps = values.get("hr_second_pass_steps") or values.get("steps") or 0
    if values.get("strength") and int(steps * values["strength"]) < 1:
        errors["strength"] = "strength × hires steps must give at least one step"


def validate(data: Mapping[str, Any], limits: Limits, mode: Mode) -> dict[str, Any]:
    """Every parameter checked and normalised (defaults filled in); raise ParamError."""
    unknown = sorted(set(data) - set(BY_NAME))
    if unknown:
        raise ParamError({name: f"{name} is not a known parameter" for name in unknown})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if "prompt" not in data:
        errors["prompt"] = "prompt is required"
    hires = mode is Mode.TXT2IMG and _as_bool(data.get("enable_hr")) is True
    for spec in PARAMS:
        if not spec.applies_to(mode, {"enable_hr": hires}) and spec.name != "enable_hr":
            # It means nothing for this request: stored as None or plainly as the default.
            values[spec.name] = None if spec.nullable else spec.default
            continue
        value, problem = check_value(spec, data.get(spec.name), limits)
        if problem and spec.name not in errors:
            errors[spec.name] = problem
        elif not problem:
            values[spec.name] = value
    if mode is not Mode.TXT2IMG:
        values["enable_hr"] = False
    if not errors:
        _cross_checks(values, limits, mode, errors)
    if errors:
        raise ParamError(errors)
    return values
