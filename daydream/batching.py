"""Batching across people: waiting tasks that can share the running task's UNet batch.

The queue still chooses the next task fairly (``pop``); tasks waiting behind it that ask for
the same model, size, steps, sampler and guidance (txt2img, or img2img with the same
strength; different prompts, seeds, init images and people) join it, taken in the queue's
own order (``order``) up to the batch limits. A task is ours only once ``remove`` says so:
another worker may claim it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from daydream.engine.errors import ParamError
from daydream.engine.prompt import extract_loras
from daydream.extensions import db
from daydream.generation.request import PARAMS, Mode, from_row
from daydream.models import Task, TaskState

# Per member: everything else about a request must be the same for the whole batch.
PER_MEMBER = {"prompt", "negative_prompt", "seed", "samples"}
SCAN = 200  # waiting tasks looked at for companions (the queue is bounded well below this)


def limits(config: Mapping[str, Any]) -> tuple[int, int]:
    """(images, pixels) one batch may hold: ``MAX_BATCH`` and ``MAX_BATCH_PIXELS``."""
    return int(config.get("MAX_BATCH", 1) or 1), int(config.get("MAX_BATCH_PIXELS", 0) or 0)


def batch_key(task: Task) -> tuple | None:
    """What a task must share with its batch; None if it cannot join one."""
    if task.mode not in (Mode.TXT2IMG.value, Mode.IMG2IMG.value) or task.mask:
        return None  # inpainting prepares a mask per task
    values = from_row(task)
    if values.get("enable_hr") or (values.get("n_iter") or 1) != 1:
        return None
    try:
        if extract_loras(values.get("prompt") or "")[1]:
            return None  # a LoRA changes the UNet for everyone in the call
    except ParamError:
        return None
    shared = tuple((p.name, values.get(p.name)) for p in PARAMS if p.name not in PER_MEMBER)
    # The model a task asks for (when the deployment records one) is shared too.
    return (task.mode, getattr(task, "model", None), shared)


def _fits(images: int, pixels_each: int, max_images: int, max_pixels: int) -> bool:
    return images <= max_images and (not max_pixels or images * pixels_each <= max_pixels)


def gather(task_queue: Any, leader: Task, config: Mapping[str, Any]) -> list[Task]:
    """Claim waiting tasks that can run in one batch with ``leader``, in fair order."""
    max_images, max_pixels = limits(config)
    key = batch_key(leader)
    if max_images <= 1 or key is None:
        return []
    pixels_each = leader.width * leader.height
    images = leader.samples or 1
    if not _fits(images + 1, pixels_each, max_images, max_pixels):
        return []
    waiting = task_queue.order()[:SCAN]
    if not waiting:
        return []
    rows = {task.id: task for task in db.session.scalars(
        select(Task).where(Task.id.in_(waiting), Task.state == TaskState.QUEUED.value))}
    claimed: list[Task] = []
    for task_id in waiting:
        task = rows.get(task_id)
        if task is None or batch_key(task) != key:
            continue
        if not _fits(images + (task.samples or 1), pixels_each, max_images, max_pixels):
            continue
        if task_queue.remove(task_id):  # only a successful remove makes it ours
            claimed.append(task)
            images += task.samples or 1
        if not _fits(images + 1, pixels_each, max_images, max_pixels):
            break
    return claimed
