"""Time estimates learned from this server's own finished tasks.

A task's run time is modelled as

    seconds = per_task + per_step × steps + per_mpx_step × megapixels × steps
              + per_mpx × megapixels + per_attention × megapixels² × steps

(steps and megapixels of every pass, megapixels × images) — a fixed cost (loading,
saving), a cost per denoising step that does not grow with the image (the text encoder,
scheduler and call overhead dominate small images), the UNet's work per pixel and step, the
per-pixel cost of decoding and saving, and self-attention, which grows with the square of
an image's pixels (it takes over at large sizes). The coefficients are fitted by least
squares to the last finished tasks, relative to each task's length, then fitted again
without the tasks the first fit missed by far more than the rest (a stall of the machine,
not something the settings explain); last, the whole model is scaled to the pace of the
newest few tasks (the newest weighing most), so a box that became busier (or freer) is
followed at once. With too
little or too uniform a history, a simpler line (fixed cost + megapixel-steps) or the
configured defaults are used.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from time import monotonic
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import select

from daydream.extensions import db
from daydream.generation import work
from daydream.generation.request import PARAMS, Mode, from_row
from daydream.models import Task, TaskState

HISTORY = 40  # finished tasks that inform the estimate
TERMS = 5
# A task the first fit misses by more than this many times the median miss (and by more
# than OUTLIER_FLOOR) is left out of the second fit.
OUTLIER_FACTOR = 3.0
OUTLIER_FLOOR = 0.25
# The machine's pace now: how much slower or faster than the fit the newest few tasks ran
# (another job on the box, a throttled GPU); the estimate follows within a few tasks.
RECENT = 8
PACE_DECAY = 0.5  # each older task counts half as much as the next newer one
PACE_LIMITS = (0.5, 2.0)


class RateModel(NamedTuple):
    """Seconds per task, step, megapixel-step, megapixel and megapixel² × step (attention)."""

    per_task: float
    per_step: float
    per_mpx_step: float
    per_mpx: float = 0.0
    per_attention: float = 0.0


def request_features(values: Mapping[str, Any], mode: Mode | str) -> tuple[float, ...]:
    """What a request's run time grows with, in RateModel order, over every pass and image.

    The per-step term counts UNet calls, one per step for the whole batch: the samples of a
    task share each call, so a second sample costs pixels, not another call's overhead.
    Hires fix has two passes; attention grows with the square of one image's pixels.
    """
    images = work.images(values)
    batches = values.get("n_iter") or 1
    total = [1.0, 0.0, 0.0, 0.0, 0.0]
    for width, height, steps in work.passes(values, mode):
        megapixels = width * height / 1_000_000
        total[1] += float(steps * batches)
        total[2] += megapixels * images * steps
        total[3] += megapixels * images
        total[4] += megapixels * megapixels * images * steps
    return tuple(total)


def task_features(task: Any) -> tuple[float, ...]:
    """``request_features`` of a stored task (or a row holding its request columns)."""
    return request_features(from_row(task), task.mode)


def learned_rate() -> RateModel:
    """The time model fitted to recent finished tasks (defaults before any history).

    The fit is kept per app: for ``ESTIMATE_REFIT_INTERVAL`` seconds it is used as it is
    (no query at all: every submit, event and page with a wait asks for it); after that,
    one indexed lookup decides whether a newer task has finished and it must be made again.
    """
    cfg = current_app.config
    kept = current_app.extensions.get("daydream.learned_rate")
    now = monotonic()
    settings = (cfg["ESTIMATE_TASK_OVERHEAD"], cfg["ESTIMATE_SECONDS_PER_MPX_STEP"])
    if kept is not None and kept[0][1:] == settings \
            and now - kept[2] < cfg["ESTIMATE_REFIT_INTERVAL"]:
        return kept[1]
    newest = db.session.execute(
        select(Task.finished_at, Task.id)
        .where(Task.state == TaskState.DONE.value, Task.finished_at.is_not(None))
        .order_by(Task.finished_at.desc()).limit(1)).first()
    key = (tuple(newest) if newest else None, *settings)
    rate = kept[1] if kept is not None and kept[0] == key else _fit_history()
    current_app.extensions["daydream.learned_rate"] = (key, rate, now)
    return rate


def _fit_history() -> RateModel:
    cfg = current_app.config
    # Plain rows holding every request column (a task's passes depend on them all).
    columns = [getattr(Task, spec.column_name) for spec in PARAMS]
    rows = db.session.execute(
        select(*columns, Task.mode, Task.started_at, Task.finished_at)
        .where(Task.state == TaskState.DONE.value, Task.started_at.is_not(None),
               Task.finished_at.is_not(None))
        .order_by(Task.finished_at.desc())
        .limit(HISTORY)
    ).all()
    points = []
    for row in rows:
        seconds = (row.finished_at - row.started_at).total_seconds()
        if seconds > 0:
            points.append((task_features(row), seconds))
    overhead = cfg["ESTIMATE_TASK_OVERHEAD"]
    default = RateModel(overhead, 0.0, cfg["ESTIMATE_SECONDS_PER_MPX_STEP"])
    if not points:
        return default
    fitted = _fit_robust(points) or _fit_line(points)
    if fitted is None:
        return _median_rate(points, overhead)
    return _at_recent_pace(fitted, points)


def predict(model: RateModel, features: tuple[float, ...]) -> float:
    """Seconds the model gives for these features."""
    return sum(c * f for c, f in zip(model, features, strict=True))


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None for a singular system."""
    size = len(vector)
    rows = [matrix[i][:] + [vector[i]] for i in range(size)]
    # Relative to the matrix: columns that are (nearly) multiples of each other are singular.
    tolerance = 1e-9 * max(abs(matrix[i][i]) for i in range(size))
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        if abs(rows[pivot][column]) <= tolerance:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for r in range(size):
            if r != column:
                factor = rows[r][column] / rows[column][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def _least_squares(points, keep: list[int], weights: list[float]) -> list[float] | None:
    # Scale each column to unit size first: megapixels² are ~1e-4 of the step counts, and
    # the elimination must not mistake a small column for a singular one.
    scale = [max(max(abs(x[i]) for x, _ in points), 1e-12) for i in keep]
    xs = [[x[i] / sc for i, sc in zip(keep, scale, strict=True)] for x, _ in points]
    normal = [[sum(w * x[i] * x[j] for x, w in zip(xs, weights, strict=True))
               for j in range(len(keep))] for i in range(len(keep))]
    target = [sum(w * x[i] * s for x, w, (_, s) in zip(xs, weights, points, strict=True))
              for i in range(len(keep))]
    solution = _solve(normal, target)
    return None if solution is None else [v / sc for v, sc in zip(solution, scale,
                                                                    strict=True)]


def _fit(points, weights: list[float] | None = None) -> RateModel | None:
    """The full model, dropping terms that come out negative; None if unsupported."""
    # Relative weights: a 1 s task missed by 0.5 s matters as much as a 60 s one by 30 s.
    weights = weights or [1.0 / max(seconds, 0.05) ** 2 for _, seconds in points]
    keep = list(range(TERMS))
    while len(points) >= len(keep) + 2 and keep:
        solution = _least_squares(points, keep, weights)
        if solution is None:
            return None
        negative = [k for k, value in zip(keep, solution, strict=True) if value < 0]
        if not negative:
            coefficients = [0.0] * TERMS
            for k, value in zip(keep, solution, strict=True):
                coefficients[k] = value
            model = RateModel(*coefficients)
            return model if model.per_mpx_step > 0 or model.per_attention > 0 else None
        worst = min(negative, key=lambda k: solution[keep.index(k)])
        keep.remove(worst)
    return None


def _fit_robust(points) -> RateModel | None:
    """Fit; then fit again without the far misses, each task weighed by the first fit's
    prediction (weights from the measured times favour tasks that happened to run fast)."""
    first = _fit(points)
    if first is None:
        return None
    predicted = [max(predict(first, x), 0.05) for x, _ in points]
    misses = [abs(p - s) / s for p, (_, s) in zip(predicted, points, strict=True)]
    limit = max(OUTLIER_FLOOR, OUTLIER_FACTOR * statistics.median(misses))
    kept = [(point, 1.0 / p ** 2) for point, p, miss in zip(points, predicted, misses,
                                                            strict=True) if miss <= limit]
    second = _fit([point for point, _ in kept], [w for _, w in kept])
    return second or first


def _at_recent_pace(model: RateModel, points) -> RateModel:
    """The model scaled by how the newest tasks ran against it (``points`` newest first)."""
    ratios = [seconds / predicted for x, seconds in points[:RECENT]
              if (predicted := predict(model, x)) > 0]
    if len(ratios) < 4:
        return model
    # The newest counts most (the load of a shared box wanders: what ran just now says most
    # of what runs next); a stall counts at most twice the typical ratio.
    typical = statistics.median(ratios)
    clipped = [min(max(ratio, typical / 2), typical * 2) for ratio in ratios]
    weights = [PACE_DECAY ** age for age in range(len(clipped))]
    pace = sum(w * r for w, r in zip(weights, clipped, strict=True)) / sum(weights)
    low, high = PACE_LIMITS
    return RateModel(*(coefficient * min(max(pace, low), high) for coefficient in model))


def _fit_line(points) -> RateModel | None:
    """Fixed cost + megapixel-steps, when the history has at least two sizes."""
    work = [x[2] for x, _ in points]
    if len(points) < 3 or len({round(units, 6) for units in work}) < 2:
        return None
    slope, intercept = statistics.linear_regression(work, [seconds for _, seconds in points])
    if slope <= 0:
        return None
    return RateModel(max(intercept, 0.0), 0.0, slope)


def _median_rate(points, overhead: float) -> RateModel:
    rates = [max(seconds - overhead, 0.01) / x[2] for x, seconds in points if x[2] > 0]
    return RateModel(overhead, 0.0, statistics.median(rates) if rates else 0.8)


def estimate_request(values: Mapping[str, Any], mode: Mode | str,
                     rate: RateModel | None = None) -> float:
    """Expected run time of a request, every pass of it."""
    return predict(rate or learned_rate(), request_features(values, mode))


def estimate_task(task: Task, rate: RateModel | None = None) -> float:
    """Expected run time of a stored task."""
    return predict(rate or learned_rate(), task_features(task))
