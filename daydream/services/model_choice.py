"""Checking a request's model and LoRAs against the library, at submission (no torch)."""

from __future__ import annotations

from pathlib import Path

from daydream.engine.errors import ParamError
from daydream.engine.prompt import LoraRef, extract_loras, lora_path
from daydream.services.models import Library, ModelEntry


class ModelRefused(ValueError):
    """The requested model is unknown, disabled or not served here; the message names it."""


def find_model(library: Library, wanted: str) -> ModelEntry | None:
    """The entry ``wanted`` names: its name, A1111 title ``name [hash]``, file name or hash."""
    text = wanted.strip()
    for entry in library.models.values():
        names = {entry.name, Path(entry.source).name, f"{entry.name} [{entry.hash}]", entry.hash}
        if text in names:
            return entry
    return None


def choose_model(library: Library, wanted: str | None, served: str) -> ModelEntry:
    """The entry for ``wanted`` (None/empty: the default) or ModelRefused saying why not.

    Any enabled library model may be chosen: workers load the model a task asks for (see
    ``daydream.held_models``). ``served`` (a model the workers run) only names an example in
    the refusal of an unknown model.
    """
    if wanted is None or not str(wanted).strip():
        entry = library.get(None)
    else:
        entry = find_model(library, str(wanted))
        if entry is None:
            raise ModelRefused(f"Model {wanted!r} is not in this server's library; "
                               f"this server runs {served!r}.")
    if not entry.enabled:
        raise ModelRefused(f"Model {entry.name!r} is disabled on this server.")
    return entry


def check_loras(prompt: str, lora_dir: str | Path | None) -> list[LoraRef]:
    """The prompt's LoRAs, or ParamError naming a malformed tag or a LoRA not installed."""
    _, refs = extract_loras(prompt)
    missing = [ref.name for ref in refs if lora_path(lora_dir, ref.name) is None]
    if missing:
        raise ParamError("prompt", f"LoRA {missing[0]!r} is not installed on this server")
    return refs
