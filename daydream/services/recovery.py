"""Putting things right from the database: work whose worker died, ids Redis lost, and
queued work nobody is waiting for any more.

The database is the truth. A running task is taken back only when its worker's heartbeat is
gone (never because another worker or server started); a queued row missing from the queue
is pushed again; every final state is a conditional update, so a refund happens at most once.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, TaskState, User
from daydream.models.base import utcnow
from daydream.runtime import get_runtime
from daydream.services import events, lifecycle
from daydream.services.statuses import task_status

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2
# A queued row younger than this may still be on its way into the queue (submit commits,
# then pushes): leave it to the submitter.
PUSH_GRACE = timedelta(seconds=5)


def worker_id() -> str:
    """A name for this worker process: host, process id and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _process_gone(owner: str | None) -> bool:
    """Whether ``owner`` names a process on this host that no longer exists."""
    if not owner or owner.count(":") < 2:
        return False
    host, pid, _tag = owner.rsplit(":", 2)
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _worker_gone(task: Task) -> bool:
    dead_after = timedelta(seconds=current_app.config["WORKER_DEAD_AFTER"])
    seen = task.heartbeat_at or task.started_at
    return seen is None or utcnow() - seen > dead_after or _process_gone(task.worker_id)


def reconcile() -> dict[str, int]:
    """Take back running tasks of dead workers; push queued rows the queue lost."""
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "pushed": 0}
    running = db.session.scalars(select(Task).where(Task.state == TaskState.RUNNING.value))
    for task in list(running):
        if _worker_gone(task):
            _take_back(task, counts)
    counts["pushed"] = _push_missing()
    top_up = getattr(get_runtime().queue, "top_up", None)
    if top_up is not None:
        top_up()
    if any(counts.values()):
        log.info("reconciled tasks: %s", counts)
    return counts


def _take_back(task: Task, counts: dict[str, int]) -> None:
    queue = get_runtime().queue
    if task.cancel_requested:
        # The stop was asked for before the worker died: it is durable, never re-run.
        if lifecycle.mark_cancelled(task, "Cancelled while running"):
            counts["cancelled"] += 1
            events.publish(task.user_id, "task.cancelled", task_status(task, {}))
    elif task.attempts >= MAX_ATTEMPTS:
        if lifecycle.mark_failed(task, "The worker stopped twice while running this task."):
            counts["failed"] += 1
            events.publish(task.user_id, "task.failed", task_status(task, {}))
    elif lifecycle.requeue(task, task.heartbeat_at):
        queue.push(task.id, task.user_id, task.model)
        counts["requeued"] += 1


def _push_missing() -> int:
    queue = get_runtime().queue
    waiting = set(queue.order())
    queued = db.session.scalars(
        select(Task).where(Task.state == TaskState.QUEUED.value,
                           Task.created_at < utcnow() - PUSH_GRACE).order_by(Task.id))
    pushed = 0
    for task in list(queued):
        if task.id not in waiting:
            queue.push(task.id, task.user_id, task.model)
            pushed += 1
    return pushed


def cancel_abandoned() -> int:
    """Cancel (and refund) queued page tasks of users who closed every page long enough ago."""
    limit = current_app.config["ABANDON_AFTER_SECONDS"]
    if limit <= 0:
        return 0
    runtime = get_runtime()
    rows = db.session.execute(
        select(Task, User.cancel_abandoned).join(User, Task.user_id == User.id)
        .where(Task.state == TaskState.QUEUED.value, Task.source == "web")
    ).all()
    cancelled = 0
    for task, wants_cancel in rows:
        if not wants_cancel or runtime.state.away_for(task.user_id) < limit:
            continue
        if lifecycle.cancel_queued(task, "Cancelled: every page was closed"):
            runtime.queue.remove(task.id)
            cancelled += 1
            events.publish(task.user_id, "task.cancelled", task_status(task, {}))
    return cancelled
