"""Runs tasks: queue → engine → storage → events. Keeps one model loaded across tasks.

Only this module (and the engine) touch torch, and only once a worker starts: importing
it is cheap, so ``daydream serve`` can start the in-process worker thread lazily.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask

from daydream.engine.errors import EngineError, GenerationCancelled
from daydream.engine.metadata import png_bytes_with_metadata
from daydream.engine.params import GenerationParams
from daydream.extensions import db
from daydream.models import Task, TaskState
from daydream.runtime import get_runtime
from daydream.services import events, lifecycle, recovery, storage, tasks

log = logging.getLogger(__name__)

PROGRESS_WRITE_INTERVAL = 0.5  # seconds between progress rows written to the database
HOUSEKEEPING_INTERVAL = 5.0


def load_engine(app: Flask) -> Any:
    """Load the configured model (or build the demo model) through the engine's loader."""
    # transformers logs that optional torchvision is missing at import; it is not needed.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from daydream.engine.pipeline import Engine

    cache = Path(app.instance_path) / "models"
    return Engine.load(app.config.get("MODEL"), cache_dir=cache,
                       profile=app.config.get("MODEL_PROFILE", "default"))


def warm_up(engine: Any) -> None:
    """Run one tiny generation: the first call is several times slower than the rest, and
    neither the first user nor the learned time estimate should pay for it."""
    engine.generate(GenerationParams(prompt="warm-up", width=64, height=64, steps=2,
                                     seed=0, scheduler="Euler"), preview_every=None)


def params_of(task: Task) -> GenerationParams:
    """The engine parameters stored on a task row."""
    return GenerationParams(
        prompt=task.prompt, negative_prompt=task.negative_prompt, width=task.width,
        height=task.height, steps=task.steps, cfg_scale=task.guidance, samples=task.samples,
        seed=task.seed, scheduler=task.scheduler, strength=task.strength or 0.75,
    )


def readable(error: BaseException) -> str:
    """A message a person can act on, without a traceback."""
    if isinstance(error, EngineError):
        return str(error)
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return "The GPU ran out of memory for this size; try a smaller image or fewer samples."
    return f"The worker failed while generating ({type(error).__name__}). Credits refunded."


class Worker:
    """One worker thread: takes ids from the queue and runs them one at a time."""

    def __init__(self, app: Flask, engine: Any = None) -> None:
        self.app = app
        self.engine = engine
        self.ready = threading.Event()
        self.load_error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the model is loaded; re-raise a load error."""
        if not self.ready.wait(timeout):
            raise TimeoutError("the worker did not load its model in time")
        if self.load_error is not None:
            raise self.load_error

    def start(self) -> Worker:
        """Start the thread; the model loads inside it."""
        get_runtime(self.app).worker = self
        self._thread = threading.Thread(target=self._main, name="daydream-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Ask the thread to finish its current task and exit."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            if self.engine is None:
                self.engine = load_engine(self.app)
                warm_up(self.engine)
        except Exception as error:  # reported to whoever waits on ``ready``
            self.load_error = error
            self.ready.set()
            return
        with self.app.app_context():
            recovery.reconcile()
        self.ready.set()
        queue = get_runtime(self.app).queue
        last_housekeeping = time.monotonic()
        while not self._stop.is_set():
            task_id = queue.pop(timeout=0.5)
            if task_id is not None:
                self.run(task_id)
            if time.monotonic() - last_housekeeping > HOUSEKEEPING_INTERVAL:
                last_housekeeping = time.monotonic()
                self._housekeeping()

    def _housekeeping(self) -> None:
        """Periodic chores; a failure is logged and must never stop the worker."""
        with self.app.app_context():
            try:
                recovery.cancel_abandoned()
            except Exception:
                log.exception("housekeeping failed")
                db.session.rollback()
            finally:
                db.session.remove()

    def run(self, task_id: int) -> None:
        """Run one task to its end state; never raises."""
        with self.app.app_context():
            try:
                self._run(task_id)
            except Exception:  # the loop must survive anything one task does
                log.exception("task %s crashed the worker loop", task_id)
                db.session.rollback()
                task = db.session.get(Task, task_id)
                if task is not None and lifecycle.mark_failed(task, "Internal worker error."):
                    events.publish(task.user_id, "task.failed", tasks.task_status(task))
            finally:
                db.session.remove()

    def _run(self, task_id: int) -> None:
        runtime = get_runtime(self.app)
        task = db.session.get(Task, task_id)
        if task is None or not lifecycle.mark_running(task):
            return
        events.publish(task.user_id, "task.started", tasks.task_status(task))
        tasks.broadcast_positions()
        try:
            result = self.engine.generate(
                params_of(task), init_image=storage.load_init_image(task),
                on_step=self._progress_reporter(task),
                should_stop=lambda: runtime.queue.cancel_requested(task_id),
                preview_every=self.app.config["PREVIEW_EVERY"],
            )
            self._store(task, result)
        except GenerationCancelled:
            db.session.rollback()
            if lifecycle.mark_cancelled(task, "Cancelled while running"):
                events.publish(task.user_id, "task.cancelled", tasks.task_status(task))
        except Exception as error:
            log.warning("task %s failed: %s", task_id, error, exc_info=True)
            db.session.rollback()
            storage.delete_task_files(task)
            if lifecycle.mark_failed(task, readable(error)):
                events.publish(task.user_id, "task.failed", tasks.task_status(task))
        finally:
            runtime.queue.clear_cancel(task_id)
            runtime.previews.pop(task_id, None)

    def _store(self, task: Task, result: Any) -> None:
        params = params_of(task)
        model = getattr(self.engine, "model_name", "unknown")
        for index, (image, seed) in enumerate(zip(result.images, result.seeds, strict=True)):
            nsfw = bool(result.nsfw[index]) if getattr(result, "nsfw", None) else False
            png = png_bytes_with_metadata(
                image, params, seed, model, {"task": task.uuid, "index": index},
                img2img=task.mode == "img2img")
            db.session.add(storage.save_image(task, index, png, image, seed, nsfw))
        db.session.flush()
        if lifecycle.mark_done(task, result.steps_run):
            events.publish(task.user_id, "task.done", tasks.task_status(task))

    def _progress_reporter(self, task: Task):
        runtime = get_runtime(self.app)
        last_write = [0.0]
        started = time.monotonic()

        def on_step(progress: Any) -> None:
            now = time.monotonic()
            if progress.preview_jpeg:
                runtime.previews[task.id] = progress.preview_jpeg
            # The last step needs no row: mark_done writes the final progress.
            if now - last_write[0] >= PROGRESS_WRITE_INTERVAL and progress.step < progress.total:
                last_write[0] = now
                lifecycle.record_progress(task, progress.step, progress.total)
            payload = {
                "id": task.uuid, "state": TaskState.RUNNING.value, "step": progress.step,
                "total": progress.total, "eta": round(progress.eta, 1),
                "elapsed": round(now - started, 1),
            }
            if progress.preview_jpeg:
                payload["preview"] = "data:image/jpeg;base64," + base64.b64encode(
                    progress.preview_jpeg).decode()
            events.publish(task.user_id, "task.progress", payload)

        return on_step
