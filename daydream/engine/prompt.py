"""A1111's extra-network syntax in prompts: ``<lora:name:weight>`` (pure Python, no torch).

The web process parses it to refuse unknown LoRAs at submission; the engine parses it again
to apply them. As in A1111 the tags are cut out of the text the model sees, the prompt kept
in the task and the PNG still carries them (so "reuse settings" brings the LoRA back).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from daydream.engine.errors import ParamError

# Bounded pieces only: no nested quantifiers, so a hostile prompt parses in linear time.
_LORA_TAG = re.compile(r"<lora:([^:<>]{1,200})(?::([^<>]{0,200}))?>", re.IGNORECASE)
_SAFE_NAME = re.compile(r"[\w][\w .()+\-]{0,199}")
MAX_LORAS = 8
LORA_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class LoraRef:
    """One LoRA a prompt asks for, with its strength (A1111's ``te``/``unet`` multiplier)."""

    name: str
    weight: float = 1.0


def _weight(name: str, raw: str | None) -> float:
    """The first positional argument (``name:0.8``, ``name:0.8:0.5``), default 1."""
    if raw is None or raw.strip() == "":
        return 1.0
    first = raw.split(":")[0].strip()
    if first.startswith(("te=", "unet=")):
        first = first.split("=", 1)[1]
    try:
        weight = float(first)
    except ValueError:
        raise ParamError("prompt", f"LoRA {name!r}: weight {first!r} is not a number") from None
    if not math.isfinite(weight) or not -10 <= weight <= 10:
        raise ParamError("prompt", f"LoRA {name!r}: weight must be between -10 and 10")
    return weight


def extract_loras(prompt: str) -> tuple[str, list[LoraRef]]:
    """Split ``prompt`` into the text the model sees and the LoRAs it names, in order."""
    refs: list[LoraRef] = []
    for match in _LORA_TAG.finditer(prompt):
        name = match.group(1).strip()
        if not _SAFE_NAME.fullmatch(name):
            raise ParamError("prompt", f"LoRA name {name!r} is not a plain file name")
        if any(ref.name == name for ref in refs):
            raise ParamError("prompt", f"LoRA {name!r} appears twice in the prompt")
        refs.append(LoraRef(name, _weight(name, match.group(2))))
    if len(refs) > MAX_LORAS:
        raise ParamError("prompt", f"at most {MAX_LORAS} LoRAs per prompt")
    return (_LORA_TAG.sub("", prompt).strip() if refs else prompt), refs


def lora_path(lora_dir: str | Path | None, name: str) -> Path | None:
    """The file of LoRA ``name`` in ``lora_dir`` (``<name>.safetensors``), None if absent."""
    if not lora_dir:
        return None
    folder = Path(lora_dir).resolve()
    path = (folder / f"{name}{LORA_SUFFIX}").resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def list_loras(lora_dir: str | Path | None) -> list[Path]:
    """Every LoRA file in ``lora_dir``, sorted by name (none when unset or missing)."""
    if not lora_dir or not Path(lora_dir).is_dir():
        return []
    return sorted(p for p in Path(lora_dir).iterdir() if p.is_file() and p.suffix == LORA_SUFFIX)
