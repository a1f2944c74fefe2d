"""Runs tasks on a loaded engine: engine → storage → database → events.

Shared by the embedded worker thread and ``daydream worker`` processes. Only this module
(and the engine) touch torch, and only once a worker loads a model.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import joinedload

from daydream import batching, finishing
from daydream.engine.errors import GenerationCancelled
from daydream.engine.params import GenerationParams
from daydream.extensions import db
from daydream.finishing import params_of, readable
from daydream.held_models import affinity, default_model, for_app
from daydream.models import Task
from daydream.models.base import detached_copy, utcnow
from daydream.runtime import get_runtime
from daydream.services import events, lifecycle, statuses, storage
from daydream.sidework import InputCache, SideWorker

__all__ = ["TaskRunner", "default_model", "load_engine", "params_of",
           "readable", "warm_up"]

log = logging.getLogger(__name__)


def load_engine(app: Flask, name: str | None = None) -> Any:
    """Load library model ``name`` (None: the default; the demo model is built on first use)
    through the engine's loader."""
    # transformers logs that optional torchvision is missing at import; it is not needed.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from daydream.engine.errors import ModelLoadError
    from daydream.engine.pipeline import Engine
    from daydream.services.models import library_for

    cache = Path(app.instance_path) / "models"
    # MODEL may name a library entry (MODELS_DIR); the entry says what to load.
    entry = library_for(app.config, app.instance_path).get(name)
    if entry is None:
        raise ModelLoadError(f"model {name!r} is not in this server's library (any more)")
    moderated = app.config.get("MODERATION", "off") != "off"
    return Engine.load(entry.source, cache_dir=cache,
                       profile=app.config.get("MODEL_PROFILE", "default"),
                       safety_checker=(app.config.get("SAFETY_CHECKER") or True) if moderated
                       else False,
                       lora_dir=app.config.get("LORA_DIR"))


def warm_up(engine: Any) -> None:
    """Run one tiny generation: the first call is several times slower than the rest, and
    neither the first user nor the learned time estimate should pay for it."""
    engine.generate(GenerationParams(prompt="warm-up", width=64, height=64, steps=2,
                                     seed=0, scheduler="Euler"), preview_every=None)


class TaskRunner:
    """Runs tasks on the models this worker holds; knows which tasks it runs (heartbeat).

    ``engine``, when given, is held as ``model`` (None: the library's default model).

    Only the calling thread touches the engine (and so torch). Everything else — events,
    progress rows, saving results, reading the next task's inputs — goes to ``self.side``,
    one thread that works while the engine does (see sidework.py).
    """

    def __init__(self, app: Flask, engine: Any, worker_id: str, model: str | None = None) -> None:
        self.app = app
        self.engine = engine
        self.models = for_app(app, engine, model)
        self.worker_id = worker_id
        self.queue = get_runtime(app).queue
        self.state = get_runtime(app).state
        self.current: int | None = None  # the task the queue chose (a batch's first)
        self.members: tuple[int, ...] = ()  # every task in the engine now
        # Stops read from the database by the heartbeat (the durable copy of the flag).
        self.stop_asked: set[int] = set()
        self.side = SideWorker(app)
        self.inputs = InputCache()
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The most recently used model's name."""
        names = self.models.names()
        return names[0] if names else "unknown"

    def engine_for(self, task: Task) -> Any:
        """The engine for the task's model (None: the default), loaded if not held."""
        if not task.model:
            task.model = default_model(self.app)
        loads = self.models.loads
        engine = self.models.get(task.model)
        if self.models.loads != loads:
            # The run starts now: time estimates learn generation time, not model loads.
            task.started_at = utcnow()
            # Say at once what this worker holds now: other workers' affinity reads it.
            self.state.worker_alive(self.worker_id, self.models.names(),
                                    ttl=3 * self.app.config["WORKER_HEARTBEAT"])
        return engine

    def affinity(self) -> dict[str, Any]:
        """The queue's ``pop`` arguments: who asks, the models held here and by other live
        workers."""
        return {**affinity(self.app, self.models.names(), self.worker_id),
                "worker_id": self.worker_id}

    def running_ids(self) -> tuple[int, ...]:
        """The tasks in the engine now (several when batched), for the heartbeat."""
        return self.members

    def run(self, task_id: int, wait: bool = True) -> None:
        """Run a task (and waiting tasks that can share its batch) to the engine's end;
        their saving and events go on beside the next one. ``wait``: return only once
        they are finished. Never raises, except on a cold shutdown."""
        with self.app.app_context():
            try:
                self._run(task_id)
            except Exception:  # the loop must survive anything one task does
                log.exception("task %s crashed the worker loop", task_id)
                for member in self.members or (task_id,):
                    self._fail_safely(member, "Internal worker error. Credits refunded.")
            finally:
                self.stop_asked.difference_update(self.members)
                self.current, self.members = None, ()
                db.session.remove()
        if wait:
            self.side.drain()
        elif not len(self.queue):  # no next engine call to make room for
            self.side.release()

    def close(self, timeout: float | None = None) -> bool:
        """Let the side thread finish what it has (at shutdown); False if it ran out of time."""
        return self.side.drain(timeout)

    def _fail_safely(self, task_id: int, reason: str) -> None:
        """Fail the task if the database lets us; else the reconciler will, later."""
        try:
            db.session.rollback()
            task = db.session.get(Task, task_id)
            if task is not None and lifecycle.mark_failed(task, reason):
                events.publish(task.user_id, "task.failed", statuses.task_status(task, {}))
        except Exception as error:
            log.error("could not record the failure of task %s (%s); the reconciler will "
                      "take it back once this worker's heartbeat stops", task_id, error)

    def _claim(self, task_id: int) -> tuple[Task | None, bool]:
        """The chosen task, moved to ``running`` (None: someone else has it); with its
        owner, whose folder its results go to. True when its submission handed it over,
        already running for this worker and announced."""
        handed = self.queue.handed_row(task_id)
        if handed is not None:  # written as running for us: no read, no claim
            db.session.add(handed)
            return handed, True
        task = db.session.get(Task, task_id, options=[joinedload(Task.user)])
        if task is None or not lifecycle.mark_running(task, self.worker_id):
            db.session.rollback()
            return None, False
        return task, False

    def _engine_and_companions(self, task: Task, claimed: list[Task]) -> Any:
        """The task's engine (loaded if not held); waiting tasks that can share its batch
        join ``claimed``, each moved to ``running``."""
        engine = self.engine_for(task)
        if db.session.dirty:  # the model named, or the start moved past a model load
            db.session.commit()
        if hasattr(engine, "generate_batch"):
            claimed += [other for other in batching.gather(self.queue, task, self.app.config)
                        if lifecycle.mark_running(other, self.worker_id)]
            self.members = tuple(member.id for member in claimed)
            if len(claimed) > 1:
                self.side.submit(finishing.started,
                                 [detached_copy(member) for member in claimed[1:]])
        return engine

    def _run(self, task_id: int) -> None:
        lead, announced = self._claim(task_id)
        if lead is None:
            return
        claimed = [lead]
        self.current, self.members = lead.id, (lead.id,)
        if not announced:
            self.side.submit(finishing.started, [detached_copy(lead)])
        self.side.submit(self.inputs.prefetch, self.queue)
        try:
            engine = self._engine_and_companions(lead, claimed)
            if len(claimed) == 1:
                self._generate(engine, lead)
            else:
                self._generate_batch(engine, claimed)
        except GenerationCancelled as stopped:
            db.session.rollback()
            if len(claimed) == 1:  # a batch's members each reported their own stop
                self.side.submit(finishing.cancelled, claimed[0].id, stopped.step,
                                 stopped.total)
        except (SystemExit, KeyboardInterrupt):
            # A cold shutdown: give the tasks back; a restart is not their fault.
            db.session.rollback()
            for task in claimed:
                storage.delete_task_files(task)
                if lifecycle.release(task, self.worker_id):
                    finishing.quietly(lambda task=task: self.queue.push(
                        task.id, task.user_id, task.model))
            raise
        except Exception as error:
            log.warning("task %s failed: %s", task_id, error, exc_info=True)
            db.session.rollback()
            reason = readable(error, self.app.config.get("JOB_TIMEOUT"))
            for task in claimed:
                self.side.submit(finishing.failed, task.id, reason)

    def _generate(self, engine: Any, task: Task) -> None:
        init, mask = self.inputs.take(task)
        self.side.release()  # the engine is about to be busy: side work may run beside it
        result = engine.generate(
            params_of(task), init_image=init, on_step=self._reporter(task),
            should_stop=lambda: self.should_stop(task.id),
            **self._preview_options(), **({"mask": mask} if mask is not None else {}),
        )
        self.side.hold()  # until the next engine call starts
        self.side.submit(finishing.store, detached_copy(task, "user"), result, task.model,
                         getattr(result, "model_hash", None))

    def _generate_batch(self, engine: Any, claimed: list[Task]) -> None:
        from daydream.engine.batch import BatchRequest

        leader_init = self.inputs.take(claimed[0])[0]

        def request(task: Task) -> BatchRequest:
            init = leader_init if task is claimed[0] else storage.load_init_image(task)
            return BatchRequest(
                params_of(task), init_image=init, on_step=self._reporter(task),
                should_stop=lambda: self.should_stop(task.id),
                on_stopped=lambda step, total: self.side.submit(
                    finishing.cancelled, task.id, step, total))

        requests = [request(task) for task in claimed]
        self.side.release()
        results = engine.generate_batch(requests, **self._preview_options())
        self.side.hold()
        for task, result in zip(claimed, results, strict=True):
            if result is not None:  # None: stopped on request, already handed on
                self.side.submit(finishing.store, detached_copy(task, "user"), result,
                                 task.model, getattr(engine, "model_hash", None))

    def should_stop(self, task_id: int) -> bool:
        """Whether a stop was asked: the shared flag (fast), or the row (via the heartbeat)."""
        return task_id in self.stop_asked or self.state.cancel_requested(task_id)

    def _preview_options(self) -> dict[str, Any]:
        return {"preview_every": self.app.config["PREVIEW_EVERY"],
                "preview_interval": self.app.config["PREVIEW_INTERVAL"]}

    def _reporter(self, task: Task):
        report = finishing.ProgressReport(task)
        interval = self.app.config["PROGRESS_INTERVAL"]
        last_sent = float("-inf")

        def on_step(progress: Any) -> None:
            # Steps closer together than the interval are dropped unless they bring a
            # preview or end the sampling: a browser shows no more, and each event is side
            # work on a busy machine.
            nonlocal last_sent
            now = time.monotonic()
            if progress.preview_jpeg is None and progress.step < progress.total \
                    and now - last_sent < interval:
                return
            last_sent = now
            self.side.submit(report, progress, now)

        return on_step
