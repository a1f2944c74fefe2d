"""Task state transitions, each a conditional update, with refunds that happen once.

A final state is reached only from an unfinished one, in one ``UPDATE … WHERE state IN``;
the refund rides in the same transaction, so no race can refund twice.
"""

from __future__ import annotations

from sqlalchemy import update

from daydream.extensions import db
from daydream.models import EntryKind, Task, TaskState
from daydream.models.base import utcnow
from daydream.services import credits

UNFINISHED = TaskState.unfinished()


def _transition(task_id: int, from_states: tuple[str, ...], to_state: TaskState,
                **values) -> bool:
    result = db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state.in_(from_states))
        .values(state=to_state.value, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _refresh(task: Task) -> Task:
    db.session.refresh(task)
    return task


def mark_running(task: Task) -> bool:
    """queued → running; False if the task was cancelled (or taken) meanwhile."""
    ok = _transition(task.id, (TaskState.QUEUED.value,), TaskState.RUNNING,
                     started_at=utcnow(), attempts=Task.attempts + 1, progress_step=0)
    db.session.commit()
    _refresh(task)
    return ok


def record_progress(task: Task, step: int, total: int) -> None:
    """Store the step reached, for pages and clients that (re)connect."""
    db.session.execute(
        update(Task).where(Task.id == task.id, Task.state == TaskState.RUNNING.value)
        .values(progress_step=step, progress_total=total)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def mark_done(task: Task, steps_run: int) -> bool:
    """running → done, after the images are stored; progress shows every step run."""
    ok = _transition(task.id, (TaskState.RUNNING.value,), TaskState.DONE,
                     finished_at=utcnow(), progress_step=steps_run, progress_total=steps_run)
    db.session.commit()
    _refresh(task)
    return ok


def _end_with_refund(task: Task, state: TaskState, reason: str | None) -> bool:
    ok = _transition(task.id, UNFINISHED, state, finished_at=utcnow(), error=reason)
    if ok and task.cost:
        credits.credit(task.user_id, task.cost, EntryKind.REFUND, task_id=task.id,
                       note=f"Task {state.value}")
    db.session.commit()
    _refresh(task)
    return ok


def mark_failed(task: Task, reason: str) -> bool:
    """Any unfinished state → failed with a readable reason, refunded once."""
    return _end_with_refund(task, TaskState.FAILED, reason)


def mark_cancelled(task: Task, reason: str = "Cancelled") -> bool:
    """Any unfinished state → cancelled, refunded once."""
    return _end_with_refund(task, TaskState.CANCELLED, reason)


def requeue(task: Task) -> bool:
    """running → queued again (after the worker that ran it went away)."""
    ok = _transition(task.id, (TaskState.RUNNING.value,), TaskState.QUEUED,
                     started_at=None, progress_step=0)
    db.session.commit()
    _refresh(task)
    return ok
