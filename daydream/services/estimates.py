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
    """(seconds per megapixel-step, seconds overhead per task) from recent finished tasks.

    A least-squares line through (work, seconds) once the history spans different sizes;
    before that the configured overhead and a median rate; before any history, defaults.
    """
    cfg = current_app.config
    rows = db.session.execute(
        select(Task.width, Task.height, Task.steps, Task.samples, Task.strength, Task.mode,
               Task.started_at, Task.finished_at)
        .where(Task.state == TaskState.DONE.value, Task.started_at.is_not(None),
               Task.finished_at.is_not(None))
        .order_by(Task.finished_at.desc())
        .limit(HISTORY)
    ).all()
    points = []
    for row in rows:
        steps = steps_that_run(row.steps, row.strength, row.mode == "img2img")
        units = work_units(row.width, row.height, steps, row.samples)
        seconds = (row.finished_at - row.started_at).total_seconds()
        if units > 0 and seconds > 0:
            points.append((units, seconds))
    overhead = cfg["ESTIMATE_TASK_OVERHEAD"]
    if not points:
        return cfg["ESTIMATE_SECONDS_PER_MPX_STEP"], overhead
    fitted = _fit_line(points)
    if fitted is not None:
        return fitted
    rates = [max(seconds - overhead, 0.01) / units for units, seconds in points]
    return statistics.median(rates), overhead


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Slope and intercept of seconds over work, when the data can support a line."""
    if len(points) < 3 or len({round(units, 6) for units, _ in points}) < 2:
        return None
    slope, intercept = statistics.linear_regression(
        [units for units, _ in points], [seconds for _, seconds in points])
    if slope <= 0:
        return None
    return slope, max(intercept, 0.0)


def estimate_seconds(width: int, height: int, steps: int, samples: int,
                     rate: tuple[float, float] | None = None) -> float:
    """Expected run time of one task with these settings."""
    per_unit, overhead = rate or learned_rate()
    return overhead + per_unit * work_units(width, height, steps, samples)


def estimate_task(task: Task, rate: tuple[float, float] | None = None) -> float:
    """Expected run time of a stored task."""
    steps = steps_that_run(task.steps, task.strength, task.mode == "img2img")
    return estimate_seconds(task.width, task.height, steps, task.samples, rate)
