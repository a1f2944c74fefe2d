"""Apply a prompt's LoRAs to a pipeline for one generation, and take them off again."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from daydream.engine.errors import GenerationError
from daydream.engine.prompt import LoraRef, lora_path


def _resolve(refs: list[LoraRef], lora_dir: str | Path | None) -> list[Path]:
    """The file of every LoRA, or a GenerationError naming the first one missing."""
    paths = []
    for ref in refs:
        path = lora_path(lora_dir, ref.name)
        if path is None:
            where = f"in {lora_dir}" if lora_dir else "(no LoRA folder is configured)"
            raise GenerationError(f"LoRA {ref.name!r} not found {where}")
        paths.append(path)
    return paths


@contextlib.contextmanager
def applied_loras(pipe: Any, refs: list[LoraRef], lora_dir: str | Path | None) -> Iterator[None]:
    """Load ``refs`` as adapters with their weights; unload them all afterwards, always.

    Several LoRAs are active at once through diffusers' adapters (peft). Unloading removes
    the injected layers, so the next task runs the plain model bit for bit.
    """
    if not refs:
        yield
        return
    paths = _resolve(refs, lora_dir)
    names: list[str] = []
    try:
        with warnings.catch_warnings():
            # peft warns when a second adapter joins the first: that is the point here.
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            for index, (ref, path) in enumerate(zip(refs, paths, strict=True)):
                names.append(f"daydream_{index}")
                try:
                    pipe.load_lora_weights(str(path), adapter_name=names[-1])
                except Exception as exc:
                    raise GenerationError(
                        f"LoRA {ref.name!r} does not fit this model: {type(exc).__name__}: {exc}"
                    ) from exc
            pipe.set_adapters(names, adapter_weights=[ref.weight for ref in refs])
        yield
    finally:
        if names:
            pipe.unload_lora_weights()
