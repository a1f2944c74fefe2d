"""The task queue interface: ids in, ids out, in a fair order.

The database is the source of truth; a queue carries task ids only. ``local`` keeps them
in this process (the embedded default); an RQ/Redis implementation plugs in behind the
same interface for workers on other machines.
"""

from __future__ import annotations

from typing import Protocol


class QueueFull(Exception):
    """The queue is at its bound; nothing was enqueued."""


class TaskQueue(Protocol):
    """What the services and the worker need from a queue."""

    def push(self, task_id: int, user_id: int) -> None:
        """Enqueue a task id for a user; raise QueueFull at the bound."""

    def pop(self, timeout: float | None = None) -> int | None:
        """Take the next task id in fair order, waiting up to ``timeout`` seconds."""

    def remove(self, task_id: int) -> bool:
        """Drop a waiting task id; False if it was not waiting."""

    def order(self) -> list[int]:
        """Waiting task ids in the order they will run."""

    def request_cancel(self, task_id: int) -> None:
        """Ask the worker running this task to stop at its next step."""

    def cancel_requested(self, task_id: int) -> bool:
        """Whether a stop was asked for this task."""

    def clear_cancel(self, task_id: int) -> None:
        """Forget a stop request once the task has ended."""

    def __len__(self) -> int:
        """How many task ids are waiting."""
