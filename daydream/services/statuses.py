"""What a person sees of tasks: statuses, places in the queue, waits.

Read by pages, events and both APIs; ``tasks`` (submitting, cancelling) uses it too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from daydream.extensions import db
from daydream.generation.request import from_row
from daydream.models import Image, Task, TaskState
from daydream.models.base import utcnow
from daydream.request_memo import once_per_request
from daydream.runtime import get_runtime
from daydream.services import estimates, events


def queue_wait_seconds(rate: estimates.RateModel | None = None) -> float:
    """Expected wait for a task submitted now: all waiting work plus what is running."""
    ahead = _tasks_by_id(get_runtime().queue.order())
    running = db.session.scalars(select(Task).where(Task.state == TaskState.RUNNING.value))
    rate = rate or estimates.learned_rate()
    return sum(estimates.estimate_task(t, rate) for t in ahead.values()) + sum(
        _remaining(t, rate) for t in running)


def _tasks_by_id(ids: list[int]) -> dict[int, Task]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Task).where(Task.id.in_(ids)))
    return {task.id: task for task in rows}


def live_progress(task: Task) -> tuple[int, int]:
    """(step, total) of a task: a running task's latest from the shared state (each progress
    event sets it), else the row's (written now and then while running, and at the end)."""
    if task.state == TaskState.RUNNING.value:
        live = get_runtime().state.progress(task.id)
        if live is not None:
            return live
    return task.progress_step, task.progress_total


def _remaining(task: Task, rate: estimates.RateModel,
               progress: tuple[int, int] | None = None) -> float:
    """Seconds a running task still needs (``progress``: its step and steps, if known)."""
    total = estimates.estimate_task(task, rate)
    if task.started_at is None:
        return total
    elapsed = max(0.0, (utcnow() - task.started_at).total_seconds())
    step, steps = progress or live_progress(task)
    if steps and step >= 2:
        # This task's own measured pace beats any model once a few steps ran; decoding and
        # saving after the last step come from the model.
        decode = rate.per_mpx * task.width * task.height * task.samples / 1_000_000
        return elapsed / step * (steps - step) + decode
    return max(total - elapsed, 0.1 * total)


def positions() -> dict[int, tuple[int, float]]:
    """task id → (1-based queue position, seconds until it should finish).

    Within one request the answer is kept while the queue's order stays the same: a submit
    tells everyone waiting and answers its caller from one reckoning, not three.
    """
    order = get_runtime().queue.order()
    if not order:  # nobody waits (the usual case when a worker is idle): nothing to estimate
        return {}
    reckoned = once_per_request("positions", dict)  # queue order → its reckoning
    key = tuple(order)
    if key not in reckoned:
        reckoned[key] = _reckon(order)
    return reckoned[key]


def positions_while_queued(task: Task) -> dict[int, tuple[int, float]]:
    """``positions()`` if the task still waits; none once a worker has it (nothing of the
    queue shows on a running task's card, so nothing is reckoned beside its engine)."""
    return positions() if task.state == TaskState.QUEUED.value else {}


def _reckon(order: list[int]) -> dict[int, tuple[int, float]]:
    rows = _tasks_by_id(order)
    rate = estimates.learned_rate()
    clock = sum(_remaining(t, rate) for t in db.session.scalars(
        select(Task).where(Task.state == TaskState.RUNNING.value)))
    result = {}
    for index, task_id in enumerate(order, start=1):
        task = rows.get(task_id)
        if task is None:
            continue
        clock += estimates.estimate_task(task, rate)
        result[task_id] = (index, round(clock, 1))
    return result


def broadcast_positions(skip: int | None = None) -> None:
    """Tell everyone still waiting their new place and wait (whenever the queue moves)."""
    if not [task_id for task_id in get_runtime().queue.order() if task_id != skip]:
        return  # nobody else waits (the usual case on a free worker): nothing to reckon
    where = positions()
    waiting = [task_id for task_id in where if task_id != skip]
    for task in _tasks_by_id(waiting).values():
        if task.state == TaskState.QUEUED.value:  # a worker may have taken it meanwhile
            events.publish(task.user_id, "task.queued", task_status(task, where))


def task_status(task: Task, where: dict[int, tuple[int, float]] | None = None) -> dict:
    """The public view of a task: what pages, events and the API show."""
    where = positions() if where is None and task.state == TaskState.QUEUED.value else where
    position, eta = (where or {}).get(task.id, (None, None))
    step, steps = live_progress(task)
    if task.state == TaskState.RUNNING.value:
        eta = round(_remaining(task, estimates.learned_rate(), (step, steps)), 1)
    return {
        "id": task.uuid, "state": task.state, **settings_of(task), "cost": task.cost,
        "refunded": task.refunded or 0, "position": position, "eta": eta, "error": task.error,
        "progress": {"step": step, "total": steps},
        "created_at": _iso(task.created_at), "started_at": _iso(task.started_at),
        "finished_at": _iso(task.finished_at), "seconds": task.seconds_taken,
        "images": [image_view(image) for image in task.results],
    }


def settings_of(task: Task) -> dict[str, Any]:
    """A task's request: its mode and every parameter, named as the request names them."""
    return {"mode": task.mode, **from_row(task), "model": task.model,
            "has_init_image": bool(task.init_image), "has_mask": bool(task.mask)}


def image_view(image: Image) -> dict:
    """The public view of one image."""
    return {"id": image.uuid, "seed": image.seed, "width": image.width,
            "height": image.height, "nsfw": image.nsfw, "public": image.public,
            "url": f"/media/{image.uuid}.png", "thumb_url": f"/media/{image.uuid}.thumb.webp"}


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None
