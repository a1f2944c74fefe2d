"""The side thread: everything a task needs besides the engine, done while the engine runs.

While the engine makes task N, this thread finishes task N−1 (PNG and thumbnail encoding,
files, image rows, the final state, events), publishes N's progress, and loads the inputs of
the task expected next, so the engine's thread goes from one engine call to the next with
almost nothing in between. It never calls torch: two threads taking turns at torch leave
each other's OpenMP teams spinning (measured: 2.4× slower), whereas PIL encoding and file
and database I/O mostly release the GIL. One thread, first in first out, so a task's events
arrive in order (started, progress…, done).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from daydream.extensions import db

log = logging.getLogger(__name__)
# Longest the side thread holds back for the engine's thread (between two engine calls),
# in case the next call never comes (a worker whose queue just emptied).
MAX_HOLD = 0.25


class SideWorker:
    """One daemon thread running submitted jobs in order, each in the app's context."""

    def __init__(self, app: Flask, name: str = "daydream-side") -> None:
        self.app = app
        self.name = name
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()

    def hold(self) -> None:
        """Hold jobs back (after the current one) while the engine's thread goes from one
        engine call to the next: side work then would compete with it for the GIL and the
        database's write lock and lengthen the gap it is here to remove."""
        self._open.clear()

    def release(self) -> None:
        """Let jobs run again (the engine is busy, or idle)."""
        self._open.set()

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Run ``job(*args)`` on the side thread, after everything submitted before it."""
        with self._idle:
            self._pending += 1
        self._ensure_thread()
        self._jobs.put((job, args))

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every job submitted so far has run; False on timeout."""
        self.release()
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished."""
        return self._pending

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
                self._thread.start()

    def _main(self) -> None:
        # One app context for the thread's life (pushing one per job cost more than a
        # progress event); each job's database session is closed after it.
        with self.app.app_context():
            while True:
                job, args = self._jobs.get()
                if not self._open.wait(MAX_HOLD):
                    self._open.set()  # no engine call came: the rest may go at once
                try:
                    job(*args)
                except Exception:  # a side job never ends the thread (the job logs its own)
                    log.exception("side job %s failed", getattr(job, "__name__", job))
                finally:
                    if db.session.registry.has():
                        db.session.remove()
                    with self._idle:
                        self._pending -= 1
                        if self._pending == 0:
                            self._idle.notify_all()


class InputCache:
    """The init image and mask of the task expected next, read while the engine works."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[int, Any, Any] | None = None

    def prefetch(self, task_queue: Any) -> None:
        """Side job: load the inputs of the task the queue would hand out next (if any)."""
        from daydream.models import Task
        from daydream.services import storage

        ahead = task_queue.order()[:1]
        if not ahead or (self._entry and self._entry[0] == ahead[0]):
            return
        task = db.session.get(Task, ahead[0])
        if task is None or not task.init_image:
            return
        # Files of a waiting task never change: what is read now is what it will use.
        entry = (task.id, storage.load_init_image(task), storage.load_mask(task))
        with self._lock:
            self._entry = entry

    def take(self, task: Any) -> tuple[Any, Any]:
        """The task's (init image, mask): prefetched when it was the one expected, else read."""
        from daydream.services import storage

        with self._lock:
            entry, self._entry = self._entry, None
        if entry is not None and entry[0] == task.id:
            return entry[1], entry[2]
        return storage.load_init_image(task), storage.load_mask(task)
