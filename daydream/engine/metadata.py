"""PNG metadata in AUTOMATIC1111's ``parameters`` format, plus Daydream's own JSON chunk.

Pure Python + Pillow: the web process reads metadata too, and must not import torch.
"""

from __future__ import annotations

import io
import json
import re
from os import PathLike
from typing import Any

from PIL import Image, PngImagePlugin

from daydream.engine.params import GenerationParams, canonical_scheduler

__all__ = [
    "DAYDREAM_KEY",
    "MAX_INFOTEXT_CHARS",
    "PARAMETERS_KEY",
    "format_parameters",
    "parse_parameters",
    "png_bytes_with_metadata",
    "read_png_parameters",
]

PARAMETERS_KEY = "parameters"  # the chunk A1111, its forks and civitai read
DAYDREAM_KEY = "daydream"
PNG_COMPRESS_LEVEL = 1  # see png_bytes_with_metadata
PNG_ZLIB_STRATEGY = 3  # zlib's Z_RLE

# A1111's infotext_utils matches fields with
#   \s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)
# which backtracks: quadratic time, and one long text held the GIL for a minute. ``_fields``
# finds the same matches in one pass; these pieces never backtrack.
_RE_WORD = re.compile(r"\w")
_RE_KEY_REST = re.compile(r"[\w \-/]*+")
_RE_SPACE = re.compile(r"\s*+")
_RE_QUOTED_BODY = re.compile(r'"(?:[^\\"]++|\\.)*+')
_RE_SIZE = re.compile(r"^(\d+)x(\d+)$")

# Pillow reads text chunks up to 1 MB; anything longer is cut there before parsing. A1111
# writes a few dozen fields; past MAX_INFOTEXT_FIELDS the rest of the line is ignored.
MAX_INFOTEXT_CHARS = 1_048_576
MAX_INFOTEXT_FIELDS = 256

# A1111 field name -> (GenerationParams-style key, converter)
_KNOWN = {
    "Steps": ("steps", int),
    "Sampler": ("scheduler", str),
    "CFG scale": ("cfg_scale", float),
    "Seed": ("seed", int),
    "Model": ("model", str),
    "Denoising strength": ("strength", float),
    "Mask blur": ("mask_blur", int),
    "Masked area padding": ("inpaint_full_res_padding", int),
    "Masked content": ("inpainting_fill", str),
    "Hires upscale": ("hr_scale", float),
    "Hires steps": ("hr_second_pass_steps", int),
    "Hires upscaler": ("hr_upscaler", str),
}


def _quote(value: Any) -> str:
    """Quote a value as A1111 does: JSON-quote only when it holds a comma, colon or newline."""
    text = str(value)
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _unquote(text: str) -> str:
    """Undo ``_quote``; leaves anything that is not a JSON string alone."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _number(value: float) -> str:
    """A1111 prints whole-number CFG scales without a decimal point."""
    return str(int(value)) if float(value).is_integer() else str(value)


def format_parameters(
    params: GenerationParams,
    seed: int,
    model_name: str,
    *,
    img2img: bool = False,
    extra_fields: dict[str, Any] | None = None,
    mask: bool = False,
    model_hash: str | None = None,
) -> str:
    """Render the A1111 infotext: prompt, ``Negative prompt:`` line, then the fields line."""
    hires = params.enable_hr and not img2img
    fields: dict[str, Any] = {
        "Steps": params.steps,
        "Sampler": params.scheduler,
        "CFG scale": _number(params.cfg_scale),
        "Seed": seed,
        "Size": f"{params.width}x{params.height}",
        "Model hash": model_hash,  # A1111's short hash, written just before the name
        "Model": model_name,
        "Denoising strength": _number(params.strength) if img2img or hires else None,
    }
    if mask:
        fields.update({
            "Mask blur": params.mask_blur,
            "Masked content": params.inpainting_fill,
            "Inpaint area": "Only masked" if params.inpaint_full_res else None,
            "Masked area padding": (params.inpaint_full_res_padding
                                    if params.inpaint_full_res else None),
        })
    if hires:
        resized = params.hr_resize_x or params.hr_resize_y
        fields.update({
            "Hires upscale": None if resized else _number(params.hr_scale),
            "Hires resize": f"{params.hr_resize_x}x{params.hr_resize_y}" if resized else None,
            "Hires steps": params.hr_second_pass_steps or None,
            "Hires upscaler": params.hr_upscaler,
        })
    fields.update(extra_fields or {})
    line = ", ".join(f"{k}: {_quote(v)}" for k, v in fields.items() if v is not None)
    negative = f"\nNegative prompt: {params.negative_prompt}" if params.negative_prompt else ""
    return f"{params.prompt}{negative}\n{line}".strip()


def _fields(line: str) -> list[tuple[str, str]]:
    """``(key, raw value)`` pairs of a fields line, as A1111's regex finds them, in linear time."""
    found: list[tuple[str, str]] = []
    end = len(line)
    position = 0
    quoted_fails_before = 0  # a quote inside an earlier failed quoted scan fails the same way
    while position < end and len(found) < MAX_INFOTEXT_FIELDS:
        word = _RE_WORD.search(line, position)
        if word is None:
            break
        key_start = word.start()
        key_end = _RE_KEY_REST.match(line, key_start + 1).end()
        # Every start inside this run ends at the same place, so a failed run is skipped whole.
        position = key_end
        if key_end - key_start < 2 or line[key_end : key_end + 1] != ":":
            continue
        value_start = _RE_SPACE.match(line, key_end + 1).end()
        value_end = -1
        if line[value_start : value_start + 1] == '"' and value_start >= quoted_fails_before:
            body_end = _RE_QUOTED_BODY.match(line, value_start).end()
            closed = line[body_end : body_end + 1] == '"' and body_end > value_start + 1
            if closed and line[body_end + 1 : body_end + 2] in ("", ","):
                value_end = body_end + 1
            else:
                quoted_fails_before = body_end + 1
        if value_end < 0:
            comma = line.find(",", value_start)
            value_end = end if comma < 0 else comma
        found.append((line[key_start:key_end], line[value_start:value_end]))
        position = value_end + 1
    return found


def parse_parameters(text: str) -> dict[str, Any]:
    """Parse A1111 infotext into GenerationParams-style keys; unknown fields keep their names.

    Known fields become ``prompt, negative_prompt, steps, scheduler, cfg_scale, seed, width,
    height, model, strength``; anything else (``Version``, ``Clip skip`` ...) is kept as text.
    """
    result: dict[str, Any] = {"prompt": "", "negative_prompt": ""}
    *lines, last = text[:MAX_INFOTEXT_CHARS].strip().split("\n")
    fields = _fields(last)
    if len(fields) < 3:  # A1111's rule: no fields line without 3 fields
        lines.append(last)
        fields = []
    prompt: list[str] = []
    negative: list[str] = []
    for line in lines:
        line = line.strip()
        if not negative and line.startswith("Negative prompt:"):
            negative.append(line[len("Negative prompt:") :].strip())
        elif negative:
            negative.append(line)
        else:
            prompt.append(line)
    result["prompt"] = "\n".join(prompt)
    result["negative_prompt"] = "\n".join(negative)

    for key, raw in fields:
        value = _unquote(raw.strip())
        size = _RE_SIZE.match(value)
        if key == "Size" and size:
            result["width"], result["height"] = int(size.group(1)), int(size.group(2))
        elif key == "Hires resize" and size:
            result["hr_resize_x"], result["hr_resize_y"] = int(size.group(1)), int(size.group(2))
            result["enable_hr"] = True
        elif key == "Inpaint area":
            result["inpaint_full_res"] = value == "Only masked"
        elif key in _KNOWN:
            name, convert = _KNOWN[key]
            try:
                result[name] = convert(value)
            except ValueError:
                result[key] = value  # keep what we could not understand, under its own name
        else:
            result[key] = value

    if any(key in result for key in ("hr_scale", "hr_upscaler", "hr_second_pass_steps")):
        result["enable_hr"] = True
    # Newer A1111 writes "Sampler: DPM++ 2M, Schedule type: Karras"; fold it into one name.
    schedule = result.get("Schedule type")
    if isinstance(result.get("scheduler"), str) and isinstance(schedule, str):
        combined = canonical_scheduler(f"{result['scheduler']} {schedule}")
        if combined:
            result["scheduler"] = combined
    if isinstance(result.get("scheduler"), str):
        result["scheduler"] = canonical_scheduler(result["scheduler"]) or result["scheduler"]
    return result


def png_bytes_with_metadata(
    image: Image.Image,
    params: GenerationParams,
    seed: int,
    model_name: str,
    extra: dict[str, Any] | None = None,
    *,
    img2img: bool = False,
    mask: bool = False,
    model_hash: str | None = None,
) -> bytes:
    """Encode ``image`` as PNG with the A1111 ``parameters`` chunk and a ``daydream`` JSON chunk.

    ``extra`` (task id, user, ...) is merged into the JSON chunk; its keys must not clash
    with the ones the engine writes.
    """
    own = {
        "generator": "daydream",
        "model": model_name,
        "model_hash": model_hash,
        "seed": seed,
        "img2img": img2img,
        "mask": mask,
        "params": {**params.to_dict(), "seed": seed},
    }
    clash = sorted(set(own) & set(extra or {}))
    if clash:
        raise ValueError(f"extra metadata keys clash with engine keys: {', '.join(clash)}")
    info = PngImagePlugin.PngInfo()
    # Pillow writes tEXt when the text is Latin-1 and falls back to iTXt (UTF-8) otherwise,
    # exactly like A1111 does for non-Latin prompts.
    text = format_parameters(params, seed, model_name, img2img=img2img, mask=mask,
                             model_hash=model_hash)
    info.add_text(PARAMETERS_KEY, text)
    info.add_text(DAYDREAM_KEY, json.dumps({**own, **(extra or {})}, ensure_ascii=False))
    buffer = io.BytesIO()
    # zlib level 1 with the run-length strategy, not Pillow's level 6 with the default one:
    # after PNG's row filters, runs are what a picture has left to squeeze. Measured on a
    # 512 px photograph: 17 ms and 411 KB, against 21 ms and 452 KB for level 1 alone and
    # 62 ms and 410 KB for Pillow's default. The wait after the last step is the user's.
    image.save(buffer, format="PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL,
               compress_type=PNG_ZLIB_STRATEGY)
    return buffer.getvalue()


def read_png_parameters(source: bytes | str | PathLike[str]) -> dict[str, Any]:
    """Read metadata from PNG bytes or a path.

    Returns ``{"text": raw A1111 text or None, "parsed": parse_parameters(text) or {},
    "daydream": the JSON chunk as a dict or None}``.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb")
    with stream, Image.open(stream) as image:
        # ``info`` holds the text chunks before the pixels (where A1111 and Daydream write
        # them, and all A1111 itself reads); ``image.text`` would decode every pixel first.
        chunks = dict(image.info)
    text = chunks.get(PARAMETERS_KEY)
    text = text if isinstance(text, str) else None
    raw = chunks.get(DAYDREAM_KEY)
    try:
        own = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        own = None
    return {
        "text": text,
        "parsed": parse_parameters(text) if text else {},
        "daydream": own if isinstance(own, dict) else None,
    }
