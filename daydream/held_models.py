"""The models one worker holds: up to ``WORKER_MODELS`` loaded engines (and, when set, within
``WORKER_MODELS_MB`` of weights), least recently used out, loaded on demand for a task.

Worker side only (loading imports torch through the loader it is given; torch itself is
touched only in ``daydream.engine``). A model that cannot
be loaded — not in the library any more, a broken file, too big for the memory — raises
``ModelUnavailable`` with a reason a person can act on; the task fails with a refund and the
worker keeps the models it had.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask

from daydream.engine.device import release_memory
from daydream.engine.errors import EngineError

log = logging.getLogger(__name__)


class ModelUnavailable(EngineError):
    """This worker could not load the model a task asks for; the message says why."""


def _out_of_memory(error: BaseException) -> bool:
    """Whether a load failed for want of (GPU or host) memory."""
    while error is not None:
        if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
            return True
        error = error.__cause__ or error.__context__
    return False


def weights_bytes(engine: Any) -> int:
    """The memory an engine's weights take (0 when it cannot say)."""
    return int(getattr(engine, "weights_bytes", 0) or 0)


class HeldModels:
    """Loaded engines by library name, most recently used last."""

    def __init__(self, load: Callable[[str], Any], capacity: int = 2,
                 budget_mb: int = 0) -> None:
        self._load = load
        self.capacity = max(1, capacity)
        self.budget = max(0, budget_mb) * 1024 * 1024
        self._engines: OrderedDict[str, Any] = OrderedDict()
        # Guards the dict only, never a load: the heartbeat reads names() during a long load.
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one load at a time
        self.loads = 0  # models loaded on demand (a switch), for the benchmark and the log

    def names(self) -> list[str]:
        """Held model names, most recently used first."""
        with self._lock:
            return list(reversed(self._engines))

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._engines

    def put(self, name: str, engine: Any) -> None:
        """Hold an engine loaded elsewhere (the one a worker starts with)."""
        with self._lock:
            self._engines[name] = engine
            self._engines.move_to_end(name)
            self._trim(keep=name)

    def get(self, name: str) -> Any:
        """The engine for ``name``, loading it (and letting the least recently used go) if
        needed; ModelUnavailable when it cannot be loaded."""
        with self._loading:
            with self._lock:
                engine = self._engines.get(name)
                if engine is not None:
                    self._engines.move_to_end(name)
                    return engine
                # Room first: the new weights must not meet the ones they replace.
                while len(self._engines) >= self.capacity:
                    self._evict()
            engine = self._load_or_explain(name)
            with self._lock:
                self.loads += 1
                self._engines[name] = engine
                self._trim(keep=name)
                fits = name in self._engines
            if not fits:
                release_memory()
                raise ModelUnavailable(
                    f"Model {name!r} is too big for this worker's model memory "
                    f"({self.budget // 2**20} MB). Credits refunded.")
            return engine

    def _load_or_explain(self, name: str) -> Any:
        log.info("loading model %s (holding %s)", name, self.names())
        try:
            return self._load(name)
        except ModelUnavailable:
            raise
        except Exception as error:
            if not _out_of_memory(error) or not self.names():
                raise self._unavailable(name, error) from error
        # Out of memory with other models held: let them all go and try once more.
        log.warning("model %s did not fit beside %s; unloading them", name, self.names())
        with self._lock:
            self._engines.clear()
        release_memory()
        try:
            return self._load(name)
        except Exception as error:
            raise self._unavailable(name, error) from error

    @staticmethod
    def _unavailable(name: str, error: BaseException) -> ModelUnavailable:
        release_memory()
        if _out_of_memory(error):
            return ModelUnavailable(f"Model {name!r} is too big for this worker's memory. "
                                    "Credits refunded.")
        detail = str(error) if isinstance(error, EngineError) else type(error).__name__
        return ModelUnavailable(f"Model {name!r} could not be loaded on this worker "
                                f"({detail}). Credits refunded.")

    def _evict(self) -> None:
        """Let the least recently used go (the caller holds the lock)."""
        name, _ = self._engines.popitem(last=False)
        log.info("unloading model %s (least recently used)", name)
        release_memory()

    def _trim(self, keep: str) -> None:
        """Let the least recently used go until within capacity and the memory budget;
        ``keep`` goes last (and alone over budget, it goes too)."""
        while len(self._engines) > self.capacity:
            self._evict()
        if not self.budget:
            return
        while sum(map(weights_bytes, self._engines.values())) > self.budget:
            if next(iter(self._engines)) == keep and len(self._engines) > 1:
                self._engines.move_to_end(keep)
            self._evict()
            if keep not in self._engines:
                return


def default_model(app: Flask, fallback: str | None = None) -> str:
    """The library's default model name (``fallback`` when the library cannot be read)."""
    from daydream.services.models import LibraryError, library_for

    try:
        return library_for(app.config, app.instance_path).default
    except LibraryError:
        if fallback is None:
            raise
        return fallback


def for_app(app: Flask, engine: Any = None, model: str | None = None) -> HeldModels:
    """A worker's held models, sized by its settings; ``engine`` (when given) held as
    ``model`` (None: the library's default). Loads on demand are warmed up."""
    from daydream.runner import load_engine, warm_up

    def load(name: str) -> Any:
        loaded = load_engine(app, name)
        warm_up(loaded)
        return loaded

    held = HeldModels(load, app.config.get("WORKER_MODELS", 2),
                      app.config.get("WORKER_MODELS_MB", 0))
    if engine is not None:
        held.put(model or default_model(app, getattr(engine, "model_name", "unknown")), engine)
    return held


def preload_names(app: Flask, default: str) -> list[str]:
    """The models a worker loads at start: ``WORKER_PRELOAD`` (comma-separated) or the
    library default."""
    names = [name.strip() for name in str(app.config.get("WORKER_PRELOAD") or "").split(",")]
    return [name for name in names if name] or [default]


def load_at_start(app: Flask) -> tuple[str, Any]:
    """Load (and warm up) the first model to preload: its name and engine. A load error
    propagates as the loader's own ModelLoadError: the worker does not start."""
    from daydream.runner import load_engine, warm_up

    name = preload_names(app, default_model(app))[0]
    engine = load_engine(app, name)
    warm_up(engine)
    return name, engine


def preload_rest(app: Flask, models: HeldModels) -> None:
    """Load the other models to preload; one that fails is logged, the worker still starts."""
    for name in preload_names(app, default_model(app))[1:]:
        try:
            models.get(name)
        except ModelUnavailable as error:
            log.error("could not preload %s: %s", name, error)


def affinity(app: Flask, held: list[str], worker_id: str) -> dict[str, Any]:
    """The queue's ``pop`` arguments for this worker: what it holds, what others hold."""
    from daydream.runtime import get_runtime

    if not app.config.get("WORKER_AFFINITY", True):
        return {}
    others = get_runtime(app).state.models()
    elsewhere = {name for worker, names in others.items() if worker != worker_id
                 for name in names} - set(held)
    return {"held": set(held), "elsewhere": elsewhere}
