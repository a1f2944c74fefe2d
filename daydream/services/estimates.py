"""Time estimates learned from this server's own finished tasks."""

from __future__ import annotations

import statistics

from flask import current_app
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, TaskState

HISTORY = 30  # finished tasks that inform the estimate


def steps_that_run(steps: int, strength: float | None, img2img: bool) -> int:
    """Denoising steps that really run: img2img runs int(steps × strength)."""
    if img2img and strength is not None:
        return max(1, int(steps * strength))
    return steps


def work_units(width: int, height: int, steps: int, samples: int) -> float:
    """Megapixel-steps: the unit both cost and time grow with."""
    return width * height * steps * samples / 1_000_000


def learned_rate() -> tuple[float, float]:
    """(seconds per megapixel-step, seconds overhead per task) from recent finished tasks."""
    cfg = current_app.config
    rows = db.session.execute(
        select(Task.width, Task.height, Task.steps, Task.samples, Task.strength, Task.mode,
               Task.started_at, Task.finished_at)
        .where(Task.state == TaskState.DONE.value, Task.started_at.is_not(None),
               Task.finished_at.is_not(None))
        .order_by(Task.finished_at.desc())
        .limit(HISTORY)
    ).all()
    rates = []
    for row in rows:
        units = work_units(row.width, row.height,
                           steps_that_run(row.steps, row.strength, row.mode == "img2img"),
                           row.samples)
        seconds = (row.finished_at - row.started_at).total_seconds()
        if units > 0 and seconds > 0:
            rates.append(max(seconds - cfg["ESTIMATE_TASK_OVERHEAD"], 0.01) / units)
    rate = statistics.median(rates) if rates else cfg["ESTIMATE_SECONDS_PER_MPX_STEP"]
    return rate, cfg["ESTIMATE_TASK_OVERHEAD"]


def estimate_seconds(width: int, height: int, steps: int, samples: int,
                     rate: tuple[float, float] | None = None) -> float:
    """Expected run time of one task with these settings."""
    per_unit, overhead = rate or learned_rate()
    return overhead + per_unit * work_units(width, height, steps, samples)


def estimate_task(task: Task, rate: tuple[float, float] | None = None) -> float:
    """Expected run time of a stored task."""
    steps = steps_that_run(task.steps, task.strength, task.mode == "img2img")
    return estimate_seconds(task.width, task.height, steps, task.samples, rate)
