"""Shared state for one process: the embedded default."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Even when woken by nothing, a waiter checks the database this often (a safety net).
RECHECK_SECONDS = 5.0
# How long a finish signal is remembered: a waiter that starts after it still sees it.
SIGNAL_SECONDS = 60.0


class MemoryState:
    """Everything in this process's memory, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._cancel: set[int] = set()
        self._previews: dict[int, bytes] = {}
        self._progress: dict[int, tuple[int, int]] = {}
        self._started = time.monotonic()
        self._open_pages: dict[int, int] = {}
        self._last_seen: dict[int, float] = {}
        self._workers: dict[str, tuple[list[str], float]] = {}
        self._signals: dict[str, float] = {}  # task uuid → when it finished, oldest first

    def request_cancel(self, task_id: int) -> None:
        """Flag a running task to stop at its next step."""
        with self._lock:
            self._cancel.add(task_id)

    def cancel_requested(self, task_id: int) -> bool:
        """Whether a stop was asked for this task."""
        return task_id in self._cancel

    def clear_cancel(self, task_id: int) -> None:
        """Forget the stop flag of a finished task."""
        with self._lock:
            self._cancel.discard(task_id)

    def set_progress(self, task_id: int, step: int, total: int) -> None:
        """Keep the step reached."""
        self._progress[task_id] = (step, total)

    def progress(self, task_id: int) -> tuple[int, int] | None:
        """The step reached, if known."""
        return self._progress.get(task_id)

    def clear_progress(self, task_id: int) -> None:
        """Forget the step."""
        self._progress.pop(task_id, None)

    def set_preview(self, task_id: int, jpeg: bytes) -> None:
        """Keep the newest preview."""
        self._previews[task_id] = jpeg

    def preview(self, task_id: int) -> bytes | None:
        """The newest preview, if any."""
        return self._previews.get(task_id)

    def clear_preview(self, task_id: int) -> None:
        """Drop a preview."""
        self._previews.pop(task_id, None)

    def page_opened(self, user_id: int) -> None:
        """A page of the user connected."""
        with self._lock:
            self._open_pages[user_id] = self._open_pages.get(user_id, 0) + 1
            self._last_seen[user_id] = time.monotonic()

    def page_closed(self, user_id: int) -> None:
        """A page of the user went away."""
        with self._lock:
            self._open_pages[user_id] = max(0, self._open_pages.get(user_id, 0) - 1)
            self._last_seen[user_id] = time.monotonic()

    def away_for(self, user_id: int) -> float:
        """Seconds since the user last had a page open (0 while one is open)."""
        with self._lock:
            if self._open_pages.get(user_id):
                return 0.0
            return time.monotonic() - self._last_seen.get(user_id, self._started)

    def worker_alive(self, worker_id: str, models: list[str], ttl: float) -> None:
        """Record a live worker and its models until ``ttl`` seconds from now."""
        with self._lock:
            self._workers[worker_id] = (list(models), time.monotonic() + ttl)

    def worker_gone(self, worker_id: str) -> None:
        """Forget a worker that stopped."""
        with self._lock:
            self._workers.pop(worker_id, None)

    def models(self) -> dict[str, list[str]]:
        """worker id → models of every live worker (most recently used first)."""
        now = time.monotonic()
        with self._lock:
            return {wid: list(models) for wid, (models, until) in self._workers.items()
                    if until > now}

    def task_finished(self, task_uuid: str) -> None:
        """Wake the waiters of a task; the signal is remembered for ``SIGNAL_SECONDS``."""
        now = time.monotonic()
        with self._lock:
            while self._signals:  # forget old signals, oldest first
                oldest, when = next(iter(self._signals.items()))
                if now - when < SIGNAL_SECONDS:
                    break
                del self._signals[oldest]
            self._signals.pop(task_uuid, None)
            self._signals[task_uuid] = now
            self._lock.notify_all()

    def wait_finished(self, task_uuid: str, timeout: float,
                      is_finished: Callable[[], bool], seen_unfinished: bool = False) -> bool:
        """Wait for the task's end: woken by ``task_finished`` (sent once the end is
        committed, so it needs no second look), rechecked now and then in case it was lost.
        ``seen_unfinished``: the caller has just seen the task unfinished (it submitted it),
        so the first look at the database is skipped; a signal sent since is remembered."""
        deadline = time.monotonic() + timeout
        look = not seen_unfinished
        while True:
            if look and is_finished():
                return True
            look = True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._lock:
                if self._lock.wait_for(lambda: task_uuid in self._signals,
                                       min(remaining, RECHECK_SECONDS)):
                    return True
