"""Putting things right after a restart, and letting go of abandoned work."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, TaskState, User
from daydream.queue import QueueFull
from daydream.runtime import get_runtime
from daydream.services import events, lifecycle
from daydream.services.tasks import task_status

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2


def reconcile() -> dict[str, int]:
    """Requeue work a previous process left behind; fail (and refund) what keeps dying."""
    queue = get_runtime().queue
    waiting = set(queue.order())
    counts = {"requeued": 0, "failed": 0}
    running = db.session.scalars(select(Task).where(Task.state == TaskState.RUNNING.value))
    for task in list(running):
        if task.attempts >= MAX_ATTEMPTS:
            if lifecycle.mark_failed(task, "The worker stopped twice while running this task."):
                counts["failed"] += 1
                events.publish(task.user_id, "task.failed", task_status(task, {}))
            continue
        lifecycle.requeue(task)
    queued = db.session.scalars(
        select(Task).where(Task.state == TaskState.QUEUED.value).order_by(Task.id))
    for task in list(queued):
        if task.id in waiting:
            continue
        try:
            queue.push(task.id, task.user_id)
            counts["requeued"] += 1
        except QueueFull:
            if lifecycle.mark_failed(task, "The queue was full after a restart."):
                counts["failed"] += 1
    if any(counts.values()):
        log.info("reconciled tasks: %s", counts)
    return counts


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
        if not wants_cancel or runtime.presence.away_for(task.user_id) < limit:
            continue
        runtime.queue.remove(task.id)
        if lifecycle.mark_cancelled(task, "Cancelled: every page was closed"):
            cancelled += 1
            events.publish(task.user_id, "task.cancelled", task_status(task, {}))
    return cancelled
