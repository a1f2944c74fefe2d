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
    "PARAMETERS_KEY",
    "format_parameters",
    "parse_parameters",
    "png_bytes_with_metadata",
    "read_png_parameters",
]

PARAMETERS_KEY = "parameters"  # the chunk A1111, its forks and civitai read
DAYDREAM_KEY = "daydream"

# The same expressions A1111's infotext_utils uses, so both sides agree on edge cases.
_RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_RE_SIZE = re.compile(r"^(\d+)x(\d+)$")

# A1111 field name -> (GenerationParams-style key, converter)
_KNOWN = {
    "Steps": ("steps", int),
    "Sampler": ("scheduler", str),
    "CFG scale": ("cfg_scale", float),
    "Seed": ("seed", int),
    "Model": ("model", str),
    "Denoising strength": ("strength", float),
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
) -> str:
    """Render the A1111 infotext: prompt, ``Negative prompt:`` line, then the fields line."""
    fields: dict[str, Any] = {
        "Steps": params.steps,
        "Sampler": params.scheduler,
        "CFG scale": _number(params.cfg_scale),
        "Seed": seed,
        "Size": f"{params.width}x{params.height}",
        "Model": model_name,
        "Denoising strength": _number(params.strength) if img2img else None,
    }
    fields.update(extra_fields or {})
    line = ", ".join(f"{k}: {_quote(v)}" for k, v in fields.items() if v is not None)
    negative = f"\nNegative prompt: {params.negative_prompt}" if params.negative_prompt else ""
    return f"{params.prompt}{negative}\n{line}".strip()


def parse_parameters(text: str) -> dict[str, Any]:
    """Parse A1111 infotext into GenerationParams-style keys; unknown fields keep their names.

    Known fields become ``prompt, negative_prompt, steps, scheduler, cfg_scale, seed, width,
    height, model, strength``; anything else (``Version``, ``Clip skip`` ...) is kept as text.
    """
    result: dict[str, Any] = {"prompt": "", "negative_prompt": ""}
    *lines, last = text.strip().split("\n")
    if len(_RE_PARAM.findall(last)) < 3:  # A1111's rule: no fields line without 3 fields
        lines.append(last)
        last = ""
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

    for key, raw in _RE_PARAM.findall(last):
        value = _unquote(raw.strip())
        size = _RE_SIZE.match(value)
        if key == "Size" and size:
            result["width"], result["height"] = int(size.group(1)), int(size.group(2))
        elif key in _KNOWN:
            name, convert = _KNOWN[key]
            try:
                result[name] = convert(value)
            except ValueError:
                result[key] = value  # keep what we could not understand, under its own name
        else:
            result[key] = value

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
) -> bytes:
    """Encode ``image`` as PNG with the A1111 ``parameters`` chunk and a ``daydream`` JSON chunk.

    ``extra`` (task id, user, ...) is merged into the JSON chunk; its keys must not clash
    with the ones the engine writes.
    """
    own = {
        "generator": "daydream",
        "model": model_name,
        "seed": seed,
        "img2img": img2img,
        "params": {**params.to_dict(), "seed": seed},
    }
    clash = sorted(set(own) & set(extra or {}))
    if clash:
        raise ValueError(f"extra metadata keys clash with engine keys: {', '.join(clash)}")
    info = PngImagePlugin.PngInfo()
    # Pillow writes tEXt when the text is Latin-1 and falls back to iTXt (UTF-8) otherwise,
    # exactly like A1111 does for non-Latin prompts.
    info.add_text(PARAMETERS_KEY, format_parameters(params, seed, model_name, img2img=img2img))
    info.add_text(DAYDREAM_KEY, json.dumps({**own, **(extra or {})}, ensure_ascii=False))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_png_parameters(source: bytes | str | PathLike[str]) -> dict[str, Any]:
    """Read metadata from PNG bytes or a path.

    Returns ``{"text": raw A1111 text or None, "parsed": parse_parameters(text) or {},
    "daydream": the JSON chunk as a dict or None}``.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb")
    with stream, Image.open(stream) as image:
        chunks = dict(getattr(image, "text", {}) or image.info)
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
