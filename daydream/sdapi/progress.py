"""A1111's ``/progress`` and ``/interrupt`` for the caller's own current task."""

from __future__ import annotations

from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, TaskState, User
from daydream.runtime import get_runtime
from daydream.sdapi.results import b64
from daydream.services import access, statuses, tasks


def _idle_state() -> dict:
    return {"skipped": False, "interrupted": False, "stopping_generation": False, "job": "",
            "job_count": 0, "job_timestamp": "0", "job_no": 0, "sampling_step": 0,
            "sampling_steps": 0}


def _latest(user: User, state: TaskState, newest: bool) -> Task | None:
    order = Task.id.desc() if newest else Task.id.asc()
    return db.session.scalar(select(Task).where(
        access.owned_by(user), Task.state == state.value).order_by(order).limit(1))


def current_task(user: User) -> Task | None:
    """The user's running task, else the next of theirs in the queue."""
    return (_latest(user, TaskState.RUNNING, newest=True)
            or _latest(user, TaskState.QUEUED, newest=False))


def of_user(user: User, skip_current_image: bool = False) -> dict:
    """A1111's ProgressResponse for the user's current task (zeros when there is none)."""
    task = current_task(user)
    state = _idle_state()
    if task is None:
        return {"progress": 0, "eta_relative": 0, "state": state, "current_image": None,
                "textinfo": None}
    runtime = get_runtime()
    view = statuses.task_status(task)
    step, total = view["progress"]["step"], view["progress"]["total"] or task.steps
    state.update(job=f"task({task.uuid})", job_count=1,
                 job_timestamp=(task.started_at or task.created_at).strftime("%Y%m%d%H%M%S"),
                 sampling_step=step, sampling_steps=total,
                 interrupted=task.cancel_requested or runtime.state.cancel_requested(task.id))
    if task.state == TaskState.RUNNING.value:
        fraction = min(1.0, step / total) if total else 0.0
        textinfo = f"Step {step} of {total}"
        preview = runtime.state.preview(task.id)
    else:
        fraction, preview = 0.0, None
        textinfo = f"Waiting in the queue: position {view['position'] or '?'}"
    image = b64(preview) if preview and not skip_current_image else None
    return {"progress": round(fraction, 4), "eta_relative": view["eta"] or 0, "state": state,
            "current_image": image, "textinfo": textinfo}


def interrupt(user: User) -> None:
    """Ask the user's running task (if any) to stop at its next step."""
    task = _latest(user, TaskState.RUNNING, newest=True)
    if task is not None:
        try:
            tasks.cancel(task)
        except tasks.NotCancellable:
            pass  # it finished in the meantime
