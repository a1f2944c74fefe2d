"""What the admin dashboard shows: headline counts, time series and the workers."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, case, func, select

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, Image, Task, TaskState, User
from daydream.models.base import utcnow
from daydream.runtime import get_runtime
from daydream.services import estimates

# (name, bucket width, number of buckets): the last day by hour, the last week by day.
RANGES = (("day", timedelta(hours=1), 24), ("week", timedelta(days=1), 7))
EPOCH = datetime(1970, 1, 1)  # naive UTC, as every stored timestamp


def _count(stmt) -> int:
    return db.session.scalar(stmt) or 0


def counts() -> dict[str, int]:
    """Headline numbers: users, tasks and failures today, images, queue and running."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    tasks_today = select(func.count(Task.id)).where(Task.created_at >= today)
    return {
        "users": _count(select(func.count(User.id))),
        "tasks_today": _count(tasks_today),
        "failures_today": _count(tasks_today.where(Task.state == TaskState.FAILED.value)),
        "images": _count(select(func.count(Image.id))),
        "queued": _count(select(func.count(Task.id)).where(
            Task.state == TaskState.QUEUED.value)),
        "running": _count(select(func.count(Task.id)).where(
            Task.state == TaskState.RUNNING.value)),
    }


def _bucket_starts(now: datetime, width: timedelta, buckets: int) -> list[datetime]:
    if width >= timedelta(days=1):
        end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        end = now.replace(minute=0, second=0, microsecond=0)
    return [end - width * (buckets - 1 - index) for index in range(buckets)]


def _seconds(column):
    """A timestamp column as seconds since 1970, in SQL (fractions kept on both databases)."""
    if db.engine.dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def _slot(column, first: datetime, width: timedelta):
    """The chart bucket a timestamp falls in, in SQL (rows are at or after ``first``)."""
    offset = _seconds(column) - (first - EPOCH).total_seconds()
    return func.floor(offset / width.total_seconds()).cast(Integer)


def _series(first: datetime, width: timedelta, buckets: int) -> dict[str, list]:
    # Grouped in the database: a busy month is tens of thousands of rows, a chart 24 numbers.
    slot = _slot(Task.created_at, first, width).label("slot")
    done = Task.state == TaskState.DONE.value
    ran = and_(done, Task.started_at.is_not(None), Task.finished_at.is_not(None))
    rows = db.session.execute(
        select(slot,
               func.sum(case((done, 1), else_=0)),
               func.sum(case((Task.state == TaskState.FAILED.value, 1), else_=0)),
               func.sum(case((Task.state == TaskState.CANCELLED.value, 1), else_=0)),
               func.avg(case((Task.started_at.is_not(None),
                              _seconds(Task.started_at) - _seconds(Task.created_at)))),
               func.avg(case((ran, _seconds(Task.finished_at) - _seconds(Task.started_at)))))
        .where(Task.created_at >= first).group_by(slot)).all()
    series = {name: [0] * buckets for name in ("done", "failed", "cancelled", "credits")}
    series["wait"], series["run"] = [None] * buckets, [None] * buckets
    for index, finished, failed, cancelled, wait, run in rows:
        if index is None or not 0 <= index < buckets:
            continue
        series["done"][index], series["failed"][index] = int(finished or 0), int(failed or 0)
        series["cancelled"][index] = int(cancelled or 0)
        series["wait"][index] = round(float(wait), 2) if wait is not None else None
        series["run"][index] = round(float(run), 2) if run is not None else None
    spent_slot = _slot(CreditEntry.created_at, first, width).label("slot")
    for index, delta in db.session.execute(
            select(spent_slot, func.sum(CreditEntry.delta)).where(
                CreditEntry.created_at >= first,
                CreditEntry.kind.in_((EntryKind.CHARGE.value, EntryKind.REFUND.value)))
            .group_by(spent_slot)):
        if index is not None and 0 <= index < buckets:
            series["credits"][index] = -int(delta or 0)
    return series


def charts(now: datetime | None = None) -> dict[str, dict]:
    """Per range: bucket labels and the series (tasks by outcome, mean wait and run
    seconds, credits spent net of refunds)."""
    now = now or utcnow()
    result = {}
    for name, width, buckets in RANGES:
        starts = _bucket_starts(now, width, buckets)
        label = "%H:00" if width < timedelta(days=1) else "%a %d"
        result[name] = {"labels": [start.strftime(label) for start in starts],
                        **_series(starts[0], width, buckets)}
    return result


def workers() -> list[dict]:
    """Every live worker (shared state: any process or machine): model, task, speed."""
    running = {task.worker_id: task for task in db.session.scalars(
        select(Task).where(Task.state == TaskState.RUNNING.value))}
    per_mpx_step = estimates.learned_rate().per_mpx_step
    speed = round(1 / per_mpx_step, 2) if per_mpx_step else None
    return [{"name": worker_id, "alive": True, "model": ", ".join(models) or "loading",
             "models": models, "task": running.get(worker_id), "speed": speed}
            for worker_id, models in sorted(get_runtime().state.models().items())]
