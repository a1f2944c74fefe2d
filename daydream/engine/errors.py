"""Engine exceptions; importable without torch so the web process can catch them."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class ModelLoadError(EngineError):
    """A model could not be found, read or used; the message names the problem."""


class GenerationCancelled(EngineError):
    """Raised when the cancel check fired; the run stopped before decoding."""

    def __init__(self, step: int = 0, total: int = 0) -> None:
        self.step = step
        self.total = total
        super().__init__(f"generation cancelled after step {step} of {total}")


class GenerationError(EngineError):
    """The pipeline failed while generating (out of memory, a bad component, ...)."""


class ParamError(EngineError, ValueError):
    """One or more generation parameters are invalid; ``errors`` maps field to message."""

    def __init__(self, field: str | dict[str, str], message: str | None = None) -> None:
        # Accept both ParamError("width", "...") and ParamError({"width": "...", ...}).
        if isinstance(field, dict):
            self.errors: dict[str, str] = dict(field)
        else:
            self.errors = {field: message or f"{field} is invalid"}
        super().__init__("; ".join(self.errors.values()))
