"""State every process of one deployment shares: cancel flags, live progress and previews,
presence, workers.

In memory for the embedded default (one process); in Redis when ``DAYDREAM_REDIS_URL`` is set,
so a cancel from any web process reaches a worker on another machine. The database stays the
truth: what lives here is either fast-changing (previews, presence) or a fast copy of what the
database also records (cancel flags, a running task's step: the row gets it now and then).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class SharedState(Protocol):
    """What web processes and workers tell each other outside the database."""

    def request_cancel(self, task_id: int) -> None:
        """Ask whoever runs this task to stop at its next step."""

    def cancel_requested(self, task_id: int) -> bool:
        """Whether a stop was asked for (False when the store is unreachable)."""

    def clear_cancel(self, task_id: int) -> None:
        """Forget a stop request once the task has ended."""

    def set_progress(self, task_id: int, step: int, total: int) -> None:
        """Keep the step a running task has reached."""

    def progress(self, task_id: int) -> tuple[int, int] | None:
        """(step, total) a running task has reached, if known."""

    def clear_progress(self, task_id: int) -> None:
        """Forget a task's step (it ended, or starts again)."""

    def set_preview(self, task_id: int, jpeg: bytes) -> None:
        """Keep the newest preview of a running task."""

    def preview(self, task_id: int) -> bytes | None:
        """The newest preview of a task, if any."""

    def clear_preview(self, task_id: int) -> None:
        """Drop a finished task's preview."""

    def page_opened(self, user_id: int) -> None:
        """One of the user's pages connected."""

    def page_closed(self, user_id: int) -> None:
        """One of the user's pages went away."""

    def away_for(self, user_id: int) -> float:
        """Seconds since the user last had a page open (0 while one is open)."""

    def worker_alive(self, worker_id: str, models: list[str], ttl: float) -> None:
        """A worker says it is alive with these models loaded (most recently used first),
        for ``ttl`` seconds."""

    def worker_gone(self, worker_id: str) -> None:
        """A worker stopped on purpose."""

    def models(self) -> dict[str, list[str]]:
        """worker id → its loaded models (most recently used first), for every live worker."""

    def task_finished(self, task_uuid: str) -> None:
        """Wake whoever waits for this task (A1111's synchronous calls)."""

    def wait_finished(self, task_uuid: str, timeout: float,
                      is_finished: Callable[[], bool], seen_unfinished: bool = False) -> bool:
        """Wait until ``is_finished()`` or ``timeout``; woken by ``task_finished``, whose
        signal is remembered a while. ``seen_unfinished``: skip the first ``is_finished()``
        (the caller just saw the task unfinished)."""
