"""The task queue interface: ids in, ids out, in a fair order.

The database is the source of truth; a queue carries task ids only. ``local`` keeps them
in this process (the embedded default); ``rq_backend`` keeps them in Redis for
``daydream worker`` processes on other machines. Cancel flags live in ``daydream.shared``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol


class QueueFull(Exception):
    """The queue is at its bound; nothing was enqueued."""


class TaskQueue(Protocol):
    """What the services and the worker need from a queue."""

    def push(self, task_id: int, user_id: int, model: str | None = None) -> None:
        """Enqueue a task id for a user (with the model it asks for); QueueFull at the bound."""

    def pop(self, timeout: float | None = None, held: Collection[str] | None = None,
            elsewhere: Collection[str] = (), worker_id: str | None = None) -> int | None:
        """Take the next task id in fair order, waiting up to ``timeout`` seconds; with
        ``held`` (the asking worker's models), prefer those within the round and leave tasks
        of ``elsewhere`` models (held by other live workers) to them. ``worker_id``: who
        asks, so a task may be handed to it while it waits."""

    def reserve_idle_worker(self, model: str | None) -> str | None:
        """A worker waiting for work that holds ``model``, reserved for a task about to be
        handed to it, if nobody else waits (None: enqueue as usual). Always follow with
        ``hand``."""

    def hand(self, worker_id: str, task_id: int | None, row: Any = None) -> None:
        """Give the reserved worker its task, already written as running for it, with the
        row as written; ``task_id`` None releases the reservation."""

    def handed_row(self, task_id: int) -> Any:
        """The row of a task handed over (taken once), or None."""

    def remove(self, task_id: int) -> bool:
        """Drop a waiting task id; False if it was not waiting."""

    def order(self) -> list[int]:
        """Waiting task ids in the order they will run."""

    def __len__(self) -> int:
        """How many task ids are waiting."""
