"""Submitting and cancelling tasks, and what a person sees of them."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from daydream.engine.params import MAX_SEED, GenerationParams, Limits, validate_params
from daydream.extensions import db
from daydream.models import Image, Task, TaskState, User
from daydream.queue import QueueFull
from daydream.runtime import get_runtime
from daydream.services import credits, estimates, events, lifecycle, storage
from daydream.services.uploads import InitImage


class SubmissionRefused(Exception):
    """A task was not accepted; nothing was charged. ``status`` suits an HTTP answer."""

    def __init__(self, code: str, message: str, status: int, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class NotCancellable(Exception):
    """The task has already finished."""


def limits() -> Limits:
    """The deployment's generation limits, from the configuration."""
    cfg = current_app.config
    return Limits(
        max_prompt_chars=cfg["MAX_PROMPT_CHARS"], max_pixels=cfg["MAX_PIXELS"],
        max_side=cfg["MAX_SIDE"], max_steps=cfg["MAX_STEPS"], max_samples=cfg["MAX_SAMPLES"],
    )


def cost_of(params: GenerationParams, img2img: bool) -> int:
    """Credits a task costs: pixels × steps that run × samples, at least 1."""
    steps = estimates.steps_that_run(params.steps, params.strength, img2img)
    pixel_steps = params.width * params.height * steps * params.samples
    return max(1, math.ceil(pixel_steps / current_app.config["CREDIT_PIXEL_STEPS"]))


@dataclass
class Quote:
    """What a task would cost and how long it would take, before submitting."""

    params: GenerationParams
    cost: int
    seconds: float
    queue_seconds: float


def quote(data: Mapping[str, Any], img2img: bool = False) -> Quote:
    """Validate parameters, price them and estimate the wait, without charging."""
    params = validate_params(dict(data), limits(), img2img=img2img)
    rate = estimates.learned_rate()
    steps = estimates.steps_that_run(params.steps, params.strength, img2img)
    seconds = estimates.estimate_seconds(params.width, params.height, steps, params.samples, rate)
    return Quote(params, cost_of(params, img2img), seconds, queue_wait_seconds(rate))


def _check_bounds(user: User) -> None:
    cfg = current_app.config
    waiting = db.session.scalar(
        select(func.count(Task.id)).where(Task.state == TaskState.QUEUED.value)) or 0
    if waiting >= cfg["QUEUE_MAX"]:
        raise SubmissionRefused(
            "queue_full", f"The queue is full ({cfg['QUEUE_MAX']} tasks waiting). "
            "Please try again in a little while.", 503, retry_after=30)
    mine = db.session.scalar(select(func.count(Task.id)).where(
        Task.user_id == user.id, Task.state.in_(TaskState.unfinished()))) or 0
    if mine >= cfg["QUEUE_MAX_PER_USER"]:
        raise SubmissionRefused(
            "too_many_tasks", f"You already have {mine} unfinished tasks, the most allowed. "
            "Wait for one to finish or cancel one.", 429, retry_after=10)


def submit(user: User, data: Mapping[str, Any], init: InitImage | None = None,
           source: str = "web") -> Task:
    """Validate, charge and insert in one transaction, then enqueue the task id."""
    img2img = init is not None
    params = validate_params(dict(data), limits(), img2img=img2img)
    cost = cost_of(params, img2img)
    _check_bounds(user)
    task = Task(
        user_id=user.id, sessionid=user.sessionid, mode="img2img" if img2img else "txt2img",
        prompt=params.prompt, negative_prompt=params.negative_prompt, width=params.width,
        height=params.height, samples=params.samples, steps=params.steps,
        guidance=params.cfg_scale, scheduler=params.scheduler,
        strength=params.strength if img2img else None,
        seed=params.seed if params.seed is not None else secrets.randbelow(MAX_SEED + 1),
        cost=cost, source=source,
    )
    db.session.add(task)
    db.session.flush()
    try:
        credits.charge(user.id, cost, task_id=task.id)
    except credits.InsufficientCredits as error:
        db.session.rollback()
        raise SubmissionRefused("insufficient_credits", str(error), 402) from error
    if init is not None:
        task.init_image = storage.save_init_image(task, init)
    db.session.commit()
    try:
        get_runtime().queue.push(task.id, user.id)
    except QueueFull as error:
        lifecycle.mark_failed(task, "The queue filled up before this task could join it.")
        raise SubmissionRefused("queue_full", str(error), 503, retry_after=30) from error
    db.session.refresh(task)
    # The worker may already have started it (and said so); never announce it as waiting then.
    if task.state == TaskState.QUEUED.value:
        events.publish(user.id, "task.queued", task_status(task))
    return task


def cancel(task: Task) -> Task:
    """Cancel a queued task (refunded now) or stop a running one at its next step."""
    runtime = get_runtime()
    if task.state == TaskState.QUEUED.value:
        runtime.queue.remove(task.id)
        if lifecycle.mark_cancelled(task, "Cancelled before it started"):
            events.publish(task.user_id, "task.cancelled", task_status(task))
            return task
    if task.state == TaskState.RUNNING.value:
        runtime.queue.request_cancel(task.id)
        return task
    raise NotCancellable(f"This task is already {task.state}.")


def queue_wait_seconds(rate: tuple[float, float] | None = None) -> float:
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


def _remaining(task: Task, rate: tuple[float, float]) -> float:
    total = estimates.estimate_task(task, rate)
    if task.progress_total:
        return total * (1 - task.progress_step / task.progress_total)
    return total


def positions() -> dict[int, tuple[int, float]]:
    """task id → (1-based queue position, seconds until it should finish)."""
    order = get_runtime().queue.order()
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


def broadcast_positions() -> None:
    """Tell everyone still waiting their new place in the queue (after a task starts)."""
    where = positions()
    for task in _tasks_by_id(list(where)).values():
        events.publish(task.user_id, "task.queued", task_status(task, where))


def task_status(task: Task, where: dict[int, tuple[int, float]] | None = None) -> dict:
    """The public view of a task: what pages, events and the API show."""
    where = positions() if where is None and task.state == TaskState.QUEUED.value else where
    position, eta = (where or {}).get(task.id, (None, None))
    if task.state == TaskState.RUNNING.value:
        eta = round(_remaining(task, estimates.learned_rate()), 1)
    return {
        "id": task.uuid, "state": task.state, "mode": task.mode, "prompt": task.prompt,
        "negative_prompt": task.negative_prompt, "width": task.width, "height": task.height,
        "steps": task.steps, "cfg_scale": task.guidance, "samples": task.samples,
        "scheduler": task.scheduler, "strength": task.strength, "seed": task.seed,
        "cost": task.cost, "position": position, "eta": eta, "error": task.error,
        "progress": {"step": task.progress_step, "total": task.progress_total},
        "created_at": _iso(task.created_at), "started_at": _iso(task.started_at),
        "finished_at": _iso(task.finished_at), "seconds": task.seconds_taken,
        "images": [image_view(image) for image in task.images],
    }


def image_view(image: Image) -> dict:
    """The public view of one image."""
    return {"id": image.uuid, "seed": image.seed, "width": image.width,
            "height": image.height, "nsfw": image.nsfw, "public": image.public,
            "url": f"/media/{image.uuid}.png", "thumb_url": f"/media/{image.uuid}.thumb.webp"}


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def find_for(user: User, task_uuid: str) -> Task | None:
    """The user's task with this public id (staff may see any); None for others."""
    task = db.session.scalar(select(Task).where(Task.uuid == task_uuid))
    if task is None or (task.user_id != user.id and not user.is_staff):
        return None
    return task


def session_tasks(user: User, limit: int = 100) -> list[Task]:
    """Tasks of the user's current login session, newest first."""
    return list(db.session.scalars(
        select(Task).where(Task.user_id == user.id, Task.sessionid == user.sessionid)
        .order_by(Task.id.desc()).limit(limit)))

