"""Task state transitions, each a conditional update, with refunds that happen once.

A final state is reached only from an unfinished one, in one ``UPDATE … WHERE state IN``;
the refund rides in the same transaction, so no race can refund twice.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from daydream.extensions import db
from daydream.models import EntryKind, Task, TaskState
from daydream.models.base import commit_keeping_values, utcnow
from daydream.services import credits

UNFINISHED = TaskState.unfinished()


def _transition(task_id: int, from_states: tuple[str, ...], to_state: TaskState,
                *conditions, **values) -> bool:
    result = db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state.in_(from_states), *conditions)
        .values(state=to_state.value, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _refresh(task: Task) -> Task:
    db.session.refresh(task)
    return task


def _commit_as_written(task: Task, state: TaskState, **written) -> None:
    """Commit a transition that changed the row, and give ``task`` the values written
    instead of reading the row back: a worker's every query between two engine calls, or
    between the last step and the answer, is time the user waits."""
    commit_keeping_values()
    for name, value in {"state": state.value, **written}.items():
        set_committed_value(task, name, value)


def running_for(worker_id: str | None) -> dict[str, object]:
    """The columns a task gets when ``worker_id`` starts it (besides its state and attempts):
    written by the claim, or by a submission that hands the task over."""
    now = utcnow()
    return {"started_at": now, "progress_step": 0, "worker_id": worker_id,
            "heartbeat_at": now, "cancel_requested": False}


def mark_running(task: Task, worker_id: str | None = None) -> bool:
    """queued → running, owned by ``worker_id``; False if cancelled (or taken) meanwhile."""
    written = running_for(worker_id)
    attempts = (task.attempts or 0) + 1
    if _transition(task.id, (TaskState.QUEUED.value,), TaskState.RUNNING,
                   attempts=Task.attempts + 1, **written):
        _commit_as_written(task, TaskState.RUNNING, attempts=attempts, **written)
        return True
    db.session.commit()
    _refresh(task)
    return False


def record_progress(task: Task, step: int, total: int) -> None:
    """Store the step reached, for pages and clients that (re)connect."""
    db.session.execute(
        update(Task).where(Task.id == task.id, Task.state == TaskState.RUNNING.value)
        .values(progress_step=step, progress_total=total)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def heartbeat(task_id: int, worker_id: str) -> bool:
    """The owner says it still runs the task; returns whether a stop was asked for."""
    db.session.execute(
        update(Task).where(Task.id == task_id, Task.worker_id == worker_id,
                           Task.state == TaskState.RUNNING.value)
        .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
    asked = db.session.scalar(select(Task.cancel_requested).where(Task.id == task_id))
    db.session.commit()
    return bool(asked)


def request_cancel(task: Task) -> bool:
    """Record a stop for a running task in its row (durable); False if it is not running."""
    result = db.session.execute(
        update(Task).where(Task.id == task.id, Task.state == TaskState.RUNNING.value)
        .values(cancel_requested=True).execution_options(synchronize_session=False))
    db.session.commit()
    _refresh(task)
    return result.rowcount == 1


def mark_done(task: Task, steps_run: int) -> bool:
    """running → done with the image rows added so far; if the task is no longer running
    (cancelled or taken back meanwhile), nothing is kept: the rows are rolled back."""
    written = {"finished_at": utcnow(), "progress_step": steps_run,
               "progress_total": steps_run}
    if _transition(task.id, (TaskState.RUNNING.value,), TaskState.DONE, **written):
        _commit_as_written(task, TaskState.DONE, **written)
        return True
    db.session.rollback()
    _refresh(task)
    return False


def _end_with_refund(task: Task, state: TaskState, reason: str | None, refund: int,
                     note: str, from_states: tuple[str, ...] = UNFINISHED) -> bool:
    ok = _transition(task.id, from_states, state, finished_at=utcnow(), error=reason,
                     refunded=refund)
    if ok and refund:
        credits.credit(task.user_id, refund, EntryKind.REFUND, task_id=task.id, note=note)
    db.session.commit()
    _refresh(task)
    return ok


def cancel_refund(cost: int, steps_done: int, steps_total: int) -> int:
    """Credits back for a task cancelled after ``steps_done`` of ``steps_total`` steps.

    The operator's ``CANCEL_REFUND`` decides: "all", or "unused" (the default), which keeps
    the share of the steps that ran, rounded in the user's favour.
    """
    if current_app.config["CANCEL_REFUND"] == "all" or steps_total <= 0 or steps_done <= 0:
        return cost
    used = cost * min(steps_done, steps_total) // steps_total
    return cost - used


def mark_failed(task: Task, reason: str) -> bool:
    """Any unfinished state → failed with a readable reason, refunded in full, once."""
    return _end_with_refund(task, TaskState.FAILED, reason, task.cost, "Task failed")


def mark_cancelled(task: Task, reason: str = "Cancelled", steps_done: int = 0,
                   steps_total: int = 0) -> bool:
    """Any unfinished state → cancelled, refunded once (running: by the refund setting)."""
    refund = cancel_refund(task.cost, steps_done, steps_total)
    if refund < task.cost:
        reason = (f"Cancelled at step {steps_done} of {steps_total}: {refund} of {task.cost} "
                  "credits refunded for the steps that did not run.")
    return _end_with_refund(task, TaskState.CANCELLED, reason, refund, "Task cancelled")


def cancel_queued(task: Task, reason: str) -> bool:
    """queued → cancelled, refunded once; False if a worker took it meanwhile."""
    return _end_with_refund(task, TaskState.CANCELLED, reason, task.cost, "Task cancelled",
                            (TaskState.QUEUED.value,))


def requeue(task: Task, heartbeat_seen: datetime | None) -> bool:
    """running → queued again, after its worker went away: only if no heartbeat came since
    the reconciler looked (``heartbeat_seen``), so a live worker never loses its task."""
    ok = _transition(task.id, (TaskState.RUNNING.value,), TaskState.QUEUED,
                     Task.heartbeat_at.is_(None) if heartbeat_seen is None
                     else Task.heartbeat_at == heartbeat_seen,
                     started_at=None, progress_step=0, worker_id=None, heartbeat_at=None)
    db.session.commit()
    _refresh(task)
    return ok


def release(task: Task, worker_id: str) -> bool:
    """running → queued by its own worker shutting down: a restart is not a crash, so the
    attempt is not counted."""
    ok = _transition(task.id, (TaskState.RUNNING.value,), TaskState.QUEUED,
                     Task.worker_id == worker_id, started_at=None, progress_step=0,
                     worker_id=None, heartbeat_at=None, attempts=Task.attempts - 1)
    db.session.commit()
    _refresh(task)
    return ok
