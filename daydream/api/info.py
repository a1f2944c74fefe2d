"""What a server offers: its model, schedulers, limits and queue (for both APIs)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from daydream.engine.demo import DEMO_INPAINT_NAME, DEMO_NAME
from daydream.engine.params import SCHEDULERS
from daydream.extensions import db
from daydream.models import Task, TaskState
from daydream.runtime import get_runtime
from daydream.services import statuses, tasks

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")


def version() -> str:
    """The installed Daydream version."""
    try:
        return importlib.metadata.version("daydream")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def model_name() -> str:
    """The loaded model's name, or (before the worker has loaded it) the configured one's."""
    runtime = get_runtime()
    engine = getattr(runtime.worker, "engine", None)
    if getattr(engine, "model_name", None):
        return engine.model_name
    loaded = sorted({name for names in runtime.state.models().values() for name in names})
    if loaded:
        return loaded[0]
    configured = current_app.config.get("MODEL")
    if not configured:
        return DEMO_NAME
    path = Path(configured).expanduser()
    # Named as the engine's loader names them: a file by its stem, a folder by its name,
    # a hub id as it is.
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        return path.stem
    return path.name if path.exists() or configured.startswith(("/", ".", "~")) else configured


def is_demo() -> bool:
    """Whether the server runs the random-weight demo model (its images are noise)."""
    return model_name() in (DEMO_NAME, DEMO_INPAINT_NAME)


def limits_view() -> dict:
    """Every generation and queue limit a client should respect."""
    cfg, limits = current_app.config, tasks.limits()
    return {
        "max_prompt_chars": limits.max_prompt_chars, "max_pixels": limits.max_pixels,
        "min_side": limits.min_side, "max_side": limits.max_side,
        "min_steps": limits.min_steps, "max_steps": limits.max_steps,
        "min_cfg": limits.min_cfg, "max_cfg": limits.max_cfg,
        "max_samples": limits.max_samples, "queue_max": cfg["QUEUE_MAX"],
        "queue_max_per_user": cfg["QUEUE_MAX_PER_USER"],
        "max_upload_bytes": cfg["MAX_CONTENT_LENGTH"],
    }


def server_info() -> dict:
    """The body of ``GET /api/v1/info``."""
    running = db.session.scalar(
        select(func.count(Task.id)).where(Task.state == TaskState.RUNNING.value)) or 0
    model = {"name": model_name(), "demo": is_demo()}
    workers = get_runtime().state.models()
    held = sorted({name for names in workers.values() for name in names})
    models = [{"name": name, "demo": name == DEMO_NAME,
               "workers": sum(1 for names in workers.values() if name in names)}
              for name in held] or [model]
    return {
        "name": "Daydream", "version": version(), "model": model, "models": models,
        "schedulers": list(SCHEDULERS), "limits": limits_view(),
        "queue": {"waiting": len(get_runtime().queue), "running": running,
                  "max": current_app.config["QUEUE_MAX"],
                  "wait_seconds": round(statuses.queue_wait_seconds(), 1)},
        "pricing": {"credit_pixel_steps": current_app.config["CREDIT_PIXEL_STEPS"]},
    }
