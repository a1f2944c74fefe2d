"""The embedded worker thread, and the housekeeper every worker runs beside its tasks.

The housekeeper writes the heartbeat of the running task (and reads back a durable stop
request), tells the shared state which model this worker has loaded, reconciles from the
database and cancels abandoned work. It runs in its own thread because one generation step
can take longer than a heartbeat interval.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from daydream.engine.device import limit_torch_threads
from daydream.extensions import db
from daydream.held_models import load_at_start, preload_rest
from daydream.runner import TaskRunner
from daydream.runtime import get_runtime
from daydream.services import archive_jobs, lifecycle, recovery

log = logging.getLogger(__name__)
OUTAGE_PAUSE = 1.0  # seconds to wait after the database or Redis failed us, before retrying


class Housekeeper:
    """Heartbeat, worker registration and periodic reconcile, in a daemon thread."""

    def __init__(self, app: Flask, runner: TaskRunner) -> None:
        self.app = app
        self.runner = runner
        self.interval = app.config["WORKER_HEARTBEAT"]
        self.reconcile_every = app.config["RECONCILE_EVERY"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Housekeeper:
        """Start beating."""
        self._thread = threading.Thread(target=self._main, name="daydream-housekeeper",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and say this worker is gone."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        get_runtime(self.app).state.worker_gone(self.runner.worker_id)

    def _main(self) -> None:
        last_reconcile = 0.0
        while not self._stop.is_set():
            self.beat()
            if time.monotonic() - last_reconcile >= self.reconcile_every:
                last_reconcile = time.monotonic()
                self.chores()
            self._stop.wait(self.interval)

    def beat(self) -> None:
        """Write the running task's heartbeat; pick up a stop asked for in the database."""
        runner = self.runner
        get_runtime(self.app).state.worker_alive(runner.worker_id, runner.models.names(),
                                                 ttl=3 * self.interval)
        task_ids = runner.running_ids()
        if not task_ids:
            return
        with self.app.app_context():
            try:
                for task_id in task_ids:  # a batch runs several
                    if lifecycle.heartbeat(task_id, runner.worker_id):
                        runner.stop_asked.add(task_id)
            except Exception as error:
                log.warning("heartbeat failed (will retry): %s", error)
                db.session.rollback()
            finally:
                db.session.remove()

    def chores(self) -> None:
        """Reconcile and cancel abandoned work; a failure is logged, never fatal."""
        with self.app.app_context():
            try:
                recovery.reconcile()
                recovery.cancel_abandoned()
                # Account archives: expire old ones, fail any whose builder died, and
                # make sure every waiting one has a builder.
                archive_jobs.resume(self.app)
            except Exception as error:
                log.warning("housekeeping failed (will retry): %s", error)
                db.session.rollback()
            finally:
                db.session.remove()


class Worker:
    """The embedded default's worker: one thread of ``daydream serve`` taking ids in turn."""

    def __init__(self, app: Flask, engine=None) -> None:
        self.app = app
        self.engine = engine
        self.runner: TaskRunner | None = None
        self.housekeeper: Housekeeper | None = None
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
        if self.runner:  # the last task's saving and events
            self.runner.close(timeout)
        if self.housekeeper:
            self.housekeeper.stop()

    def _main(self) -> None:
        model = None
        try:
            limit_torch_threads(self.app.config["WORKER_TORCH_THREADS"])
            if self.engine is None:
                model, self.engine = load_at_start(self.app)
            self.runner = TaskRunner(self.app, self.engine, recovery.worker_id(), model)
            preload_rest(self.app, self.runner.models)
        except Exception as error:  # reported to whoever waits on ``ready``
            self.load_error = error
            self.ready.set()
            return
        self.housekeeper = Housekeeper(self.app, self.runner)
        self.housekeeper.chores()  # reconcile before taking the first task
        self.housekeeper.start()
        self.ready.set()
        queue = get_runtime(self.app).queue
        while not self._stop.is_set():
            try:
                task_id = queue.pop(timeout=0.5, **self.runner.affinity())
                if task_id is not None:
                    self.runner.run(task_id, wait=False)  # its saving overlaps the next
            except Exception:  # nothing may end this loop but stop()
                log.exception("worker loop error; retrying")
                time.sleep(OUTAGE_PAUSE)
