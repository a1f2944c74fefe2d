"""Daydream's image engine: parameters in, images out, a callback per step, a way to stop.

Importing this package, ``params`` or ``metadata`` never imports torch: the web process uses
them. ``Engine`` and friends live in ``daydream.engine.pipeline`` and are imported lazily
(``from daydream.engine import Engine`` works, and pulls in torch only then).
"""

from __future__ import annotations

from typing import Any

from daydream.engine.errors import (
    EngineError,
    GenerationCancelled,
    GenerationError,
    ModelLoadError,
    ParamError,
)
from daydream.engine.params import SCHEDULERS, GenerationParams, Limits, validate_params

__all__ = [
    "SCHEDULERS",
    "Engine",
    "EngineError",
    "GenerationCancelled",
    "GenerationError",
    "GenerationParams",
    "GenerationResult",
    "Limits",
    "ModelLoadError",
    "ParamError",
    "StepProgress",
    "validate_params",
]

_LAZY = {"Engine", "GenerationResult", "StepProgress"}


def __getattr__(name: str) -> Any:
    """Import the torch-backed names on first use only."""
    if name in _LAZY:
        from daydream.engine import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'daydream.engine' has no attribute {name!r}")
