"""What happens to a task around its engine call, run on the side thread (see sidework.py).

Each function takes task ids (never rows of another thread's session), reads what it needs
in its own session, and ends a task at most once: every final transition is conditional.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from daydream.engine.errors import EngineError
from daydream.engine.metadata import png_bytes_with_metadata
from daydream.engine.params import GenerationParams
from daydream.extensions import db
from daydream.generation.request import Mode, from_row, param
from daydream.models import Task, TaskState
from daydream.runtime import get_runtime
from daydream.services import events, lifecycle, statuses, storage

log = logging.getLogger(__name__)

# Seconds between progress rows written to the database. Readers of a running task's step
# take it from the shared state (every event sets it); the row is for whatever reads the
# table itself, and each write is a commit beside the engine (≈ 3 ms of its time at 256 px).
PROGRESS_WRITE_INTERVAL = 2.0


def params_of(task: Task) -> GenerationParams:
    """The engine parameters stored on a task row (named alike: see generation.request)."""
    values = from_row(task)
    if values["strength"] is None:  # it means nothing for this task; the engine wants a number
        values["strength"] = param("strength").default
    return GenerationParams.from_dict(values)


def readable(error: BaseException, job_timeout: int | None = None) -> str:
    """A message a person can act on: no traceback, never SQL."""
    from rq.timeouts import BaseTimeoutException

    causes = _causes(error)
    if any(isinstance(cause, BaseTimeoutException) for cause in causes):
        return (f"The task ran longer than the {job_timeout} s limit and was stopped. "
                "Credits refunded.")
    if any(isinstance(cause, SQLAlchemyError) for cause in causes):
        return "The worker lost its database connection while generating. Credits refunded."
    if isinstance(error, EngineError):
        return str(error)
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return "The GPU ran out of memory for this size; try a smaller image or fewer samples."
    return f"The worker failed while generating ({type(error).__name__}). Credits refunded."


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what caused it (the engine wraps what a step raised)."""
    chain: list[BaseException] = []
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def quietly(action) -> None:
    """Run a side job (positions, progress rows) that must never fail the task."""
    try:
        action()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("skipped a progress write: %s", type(error).__name__)
    except Exception as error:
        log.warning("skipped a side job: %s", error)


def started(started_tasks: list[Task]) -> None:
    """Tell each owner their task started, and everyone still waiting their new place.
    ``started_tasks``: detached copies of the rows as the worker claimed them."""
    for task in started_tasks:
        get_runtime().state.clear_progress(task.id)  # a task taken back starts again at 0
        events.publish(task.user_id, "task.started", statuses.task_status(task))
    if len(get_runtime().queue):  # nobody waits: no positions to send
        quietly(statuses.broadcast_positions)


def _clear(task_id: int) -> None:
    state = get_runtime().state
    state.clear_cancel(task_id)
    state.clear_preview(task_id)
    state.clear_progress(task_id)


def store(task: Task, result: Any, model_name: str, model_hash: str | None) -> None:
    """Save a finished run: PNGs with metadata, thumbnails, image rows, ``done``, the event.

    ``task`` is a detached copy of the row as the worker ran it (with its owner, whose
    folder the files go to): it is not read again, and ``done`` is written only if the row
    is still running. If the task was cancelled or taken back meanwhile, nothing is kept.
    """
    task_id, folder = task.id, None
    db.session.add(task)
    set_committed_value(task, "images", [])  # running: no images yet
    try:
        if task.user is None:  # carried by the copy, or read now (a batch's members)
            return  # gone with its owner's account meanwhile
        folder = storage.task_folder(task)
        params = params_of(task)
        task.model = model_name
        blur_flagged = current_app.config.get("MODERATION") == "blur"
        for index, (image, seed) in enumerate(zip(result.images, result.seeds, strict=True)):
            nsfw = bool(result.nsfw[index]) if getattr(result, "nsfw", None) else False
            thumb = storage.thumbnail_beside(image, blur=nsfw and blur_flagged)
            png = png_bytes_with_metadata(
                image, params, seed, model_name, {"task": task.uuid, "index": index},
                img2img=Mode(task.mode).uses_init_image, mask=task.mode == Mode.INPAINT,
                model_hash=model_hash)
            task.images.append(storage.save_image(task, index, png, image, seed, nsfw,
                                                  thumb=thumb.result()))
        db.session.flush()
        if lifecycle.mark_done(task, result.steps_run):
            events.publish(task.user_id, "task.done", statuses.task_status(task, {}))
        else:
            storage.delete_task_files(task)
    except Exception as error:
        if folder is not None:  # known beforehand: a failed flush leaves the copy unreadable
            storage.delete_folder(folder)
        db.session.rollback()
        if db.session.get(Task, task_id) is None:
            return  # deleted meanwhile (with its owner's account): nobody to tell
        log.warning("task %s failed while saving: %s", task_id, error, exc_info=True)
        _fail(task, readable(error, current_app.config.get("JOB_TIMEOUT")))
    finally:
        _clear(task_id)


def failed(task_id: int, reason: str) -> None:
    """The run failed: keep no files, fail and refund the task, tell its owner."""
    task = db.session.get(Task, task_id)
    if task is not None:
        _fail(task, reason)
    _clear(task_id)


def _fail(task: Task, reason: str) -> None:
    storage.delete_task_files(task)
    if lifecycle.mark_failed(task, reason):
        events.publish(task.user_id, "task.failed", statuses.task_status(task, {}))


def cancelled(task_id: int, step: int, total: int) -> None:
    """The run stopped at ``step`` of ``total`` on request: refund by the refund policy."""
    task = db.session.get(Task, task_id)
    if task is not None and lifecycle.mark_cancelled(task, "Cancelled while running", step,
                                                     total):
        events.publish(task.user_id, "task.cancelled", statuses.task_status(task, {}))
    _clear(task_id)


class ProgressReport:
    """One task's progress: preview to the shared state, a row now and then, an event."""

    def __init__(self, task: Task) -> None:
        self.task_id, self.user_id, self.uuid = task.id, task.user_id, task.uuid
        self.started = time.monotonic()
        self.last_write = self.started  # the claim wrote step 0

    def __call__(self, progress: Any, now: float) -> None:
        """Side job for one step (``now``: when the engine reported it)."""
        state = get_runtime().state
        state.set_progress(self.task_id, progress.step, progress.total)
        if progress.preview_jpeg:
            state.set_preview(self.task_id, progress.preview_jpeg)
        # The last step needs no row: mark_done writes the final progress.
        if now - self.last_write >= PROGRESS_WRITE_INTERVAL and progress.step < progress.total:
            self.last_write = now
            quietly(lambda: lifecycle.record_progress(db.session.get(Task, self.task_id),
                                                      progress.step, progress.total))
        payload = {
            "id": self.uuid, "state": TaskState.RUNNING.value, "step": progress.step,
            "total": progress.total, "eta": round(progress.eta, 1),
            "elapsed": round(now - self.started, 1),
        }
        if progress.preview_jpeg:
            payload["preview"] = "data:image/jpeg;base64," + base64.b64encode(
                progress.preview_jpeg).decode()
        events.publish(self.user_id, "task.progress", payload)
