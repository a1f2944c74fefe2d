"""Translating between A1111's request and response shapes and Daydream's tasks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from daydream.api.common import ApiProblem
from daydream.engine.params import SCHEDULERS, canonical_scheduler
from daydream.generation.request import PARAMS, Mode
from daydream.models import Task
from daydream.sdapi.models import IMG2IMG_DEFAULTS, TXT2IMG_DEFAULTS, USED


@dataclass
class Request:
    """An A1111 request read into Daydream terms."""

    data: dict[str, Any]
    init_image: str | None
    send_images: bool
    parameters: dict[str, Any]
    ignored: list[str] = field(default_factory=list)
    mask: str | None = None
    invert_mask: bool = False


# Fields read by hand below rather than through a parameter's ``a1111`` name.
_SPECIAL = {"scheduler", "seed"}


def _unprocessable(field_name: str, message: str) -> ApiProblem:
    return ApiProblem(422, "unprocessable", message, {field_name: message})


def _whole(body: dict, name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _unprocessable(name, f"{name} must be a whole number")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or number < 1:
        raise _unprocessable(name, f"{name} must be a whole number of at least 1")
    return number


def _sampler(body: dict) -> str:
    name = body.get("sampler_name") or body.get("sampler_index") or "Euler"
    if not isinstance(name, str):
        raise _unprocessable("sampler_name", "sampler_name must be text")
    schedule = body.get("scheduler")
    if isinstance(schedule, str) and schedule.strip().lower() not in ("", "automatic"):
        combined = canonical_scheduler(f"{name} {schedule}")
        if combined is None:
            raise _unprocessable("scheduler", f"Sampler {name!r} with schedule type "
                                 f"{schedule!r} is not available here.")
        return combined
    canonical = canonical_scheduler(name)
    if canonical is None:
        raise _unprocessable("sampler_name", f"Sampler {name!r} not found; use one of: "
                             + ", ".join(SCHEDULERS))
    return canonical


def _mask_blur(body: dict) -> Any:
    """A1111 takes ``mask_blur`` when given, else ``mask_blur_x`` (we blur both ways alike)."""
    return body["mask_blur"] if body.get("mask_blur") is not None else body.get("mask_blur_x")


def request_values(body: dict, mode: Mode) -> dict[str, Any]:
    """Our request parameters from an A1111 body: each read under its A1111 name, A1111's
    default when absent or null (A1111's defaults differ from ours in places)."""
    defaults = TXT2IMG_DEFAULTS if mode is Mode.TXT2IMG else IMG2IMG_DEFAULTS
    data: dict[str, Any] = {}
    for spec in PARAMS:
        if spec.name in _SPECIAL or not spec.applies_to(mode, {"enable_hr": True}):
            continue
        name = spec.a1111_name
        value = body.get(name)
        if spec.name == "mask_blur":
            value = _mask_blur(body)
        data[spec.name] = value if value is not None else defaults.get(name, spec.default)
    data["scheduler"] = _sampler(body)
    data["seed"] = body.get("seed")
    return data


def read_request(body: dict, img2img: bool, max_samples: int) -> Request:
    """Map an A1111 body to Daydream parameters; refuse what cannot be honoured (422)."""
    defaults = IMG2IMG_DEFAULTS if img2img else TXT2IMG_DEFAULTS
    if body.get("script_name"):
        raise _unprocessable("script_name", f"Script {body['script_name']!r} not found; "
                             "Daydream runs no scripts.")
    batch, n_iter = _whole(body, "batch_size", 1), _whole(body, "n_iter", 1)
    if batch * n_iter > max_samples:
        raise _unprocessable("batch_size", f"batch_size × n_iter asks for {batch * n_iter} "
                             f"images; this server makes at most {max_samples} per request.")
    mask = body.get("mask") if img2img else None
    if mask is not None and not isinstance(mask, str):
        raise _unprocessable("mask", "mask must be a base64 image")
    mode = Mode.INPAINT if mask else Mode.IMG2IMG if img2img else Mode.TXT2IMG
    data = request_values(body, mode)
    init = None
    if img2img:
        images = body.get("init_images")
        if not isinstance(images, list) or not images or not isinstance(images[0], str):
            raise _unprocessable("init_images", "init_images must be a list holding at least "
                                 "one base64 image.")
        init = images[0]
    parameters = {**defaults, **{k: v for k, v in body.items() if k in defaults}}
    if img2img and not body.get("include_init_images"):
        parameters["init_images"] = None
        parameters["mask"] = None
    used = used_fields(mode)
    ignored = sorted(name for name, value in body.items()
                     if name in defaults and name not in used and value and
                     value != defaults[name] and value != -1)
    if img2img and isinstance(body.get("init_images"), list) and len(body["init_images"]) > 1:
        ignored.append("init_images[1:]")
    return Request(data, init, body.get("send_images", True) is not False, parameters,
                   ignored, mask, bool(body.get("inpainting_mask_invert")))


def used_fields(mode: Mode) -> set[str]:
    """The A1111 fields Daydream honours for ``mode``: every parameter's A1111 name, plus
    the ones read by hand; every other field is accepted and ignored."""
    names = {spec.a1111_name for spec in PARAMS
             if spec.applies_to(mode, {"enable_hr": True}) and spec.name not in _SPECIAL}
    if mode is Mode.INPAINT:
        names |= {"mask_blur_x", "mask_blur_y", "inpainting_mask_invert"}
    return names | USED


def info_json(task: Task, infotexts: list[str], request: Request, model: str,
              model_hash: str | None = None) -> str:
    """The ``info`` string A1111 returns (``Processed.js()``), with the real seeds."""
    seeds = [image.seed for image in task.images] or [task.seed]
    count = len(seeds)
    started = task.started_at or task.created_at
    return json.dumps({
        "prompt": task.prompt, "all_prompts": [task.prompt] * count,
        "negative_prompt": task.negative_prompt,
        "all_negative_prompts": [task.negative_prompt] * count,
        "seed": seeds[0], "all_seeds": seeds, "subseed": -1, "all_subseeds": [-1] * count,
        "subseed_strength": 0, "width": task.width, "height": task.height,
        "sampler_name": task.scheduler, "cfg_scale": task.guidance, "steps": task.steps,
        "enable_hr": task.enable_hr, "hr_scale": task.hr_scale,
        "hr_upscaler": task.hr_upscaler if task.enable_hr else None,
        "hr_second_pass_steps": task.hr_second_pass_steps,
        "hr_resize_x": task.hr_resize_x, "hr_resize_y": task.hr_resize_y,
        "batch_size": request.parameters.get("batch_size") or 1, "restore_faces": False,
        "face_restoration_model": None, "sd_model_name": model, "sd_model_hash": model_hash,
        "sd_vae_name": None, "sd_vae_hash": None, "seed_resize_from_w": -1,
        "seed_resize_from_h": -1, "denoising_strength": task.strength,
        "extra_generation_params": {}, "index_of_first_image": 0, "infotexts": infotexts,
        "styles": request.parameters.get("styles") or [],
        "job_timestamp": started.strftime("%Y%m%d%H%M%S"), "clip_skip": 1,
        "is_using_inpainting_conditioning": task.mode == Mode.INPAINT,
    })


_A1111_NAMES = {"prompt": "Prompt", "negative_prompt": "Negative prompt", "steps": "Steps",
                "scheduler": "Sampler", "cfg_scale": "CFG scale", "seed": "Seed",
                "model": "Model", "strength": "Denoising strength", "width": "Size-1",
                "height": "Size-2", "mask_blur": "Mask blur",
                "inpaint_full_res_padding": "Masked area padding",
                "inpainting_fill": "Masked content", "hr_scale": "Hires upscale",
                "hr_second_pass_steps": "Hires steps", "hr_upscaler": "Hires upscaler"}


def a1111_parameters(parsed: dict[str, Any]) -> dict[str, str]:
    """Our parsed infotext under A1111's names, as text (what its png-info returns)."""
    out = {}
    for key, value in parsed.items():
        name = _A1111_NAMES.get(key, key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[name] = value if isinstance(value, str) else str(value)
    return out
