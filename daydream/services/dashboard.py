"""What the admin dashboard shows: headline counts, time series and the workers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, Image, Task, TaskState, User
from daydream.models.base import utcnow
from daydream.runtime import get_runtime
from daydream.services import estimates

# (name, bucket width, number of buckets): the last day by hour, the last week by day.
RANGES = (("day", timedelta(hours=1), 24), ("week", timedelta(days=1), 7))


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


def _index(moment: datetime, first: datetime, width: timedelta, buckets: int) -> int | None:
    position = int((moment - first) / width)
    return position if 0 <= position < buckets else None


def _series(first: datetime, width: timedelta, buckets: int) -> dict[str, list]:
    tasks = db.session.execute(
        select(Task.created_at, Task.started_at, Task.finished_at, Task.state)
        .where(Task.created_at >= first)).all()
    done, failed, cancelled = [0] * buckets, [0] * buckets, [0] * buckets
    waits, runs = defaultdict(list), defaultdict(list)
    for created, started, finished, state in tasks:
        slot = _index(created, first, width, buckets)
        if slot is None:
            continue
        outcome = {"done": done, "failed": failed, "cancelled": cancelled}.get(state)
        if outcome is not None:
            outcome[slot] += 1
        if started:
            waits[slot].append((started - created).total_seconds())
            if finished and state == TaskState.DONE.value:
                runs[slot].append((finished - started).total_seconds())
    spent = [0] * buckets
    for created, delta in db.session.execute(
            select(CreditEntry.created_at, CreditEntry.delta).where(
                CreditEntry.created_at >= first,
                CreditEntry.kind.in_((EntryKind.CHARGE.value, EntryKind.REFUND.value)))):
        slot = _index(created, first, width, buckets)
        if slot is not None:
            spent[slot] -= delta

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    return {"done": done, "failed": failed, "cancelled": cancelled,
            "wait": [mean(waits[i]) for i in range(buckets)],
            "run": [mean(runs[i]) for i in range(buckets)], "credits": spent}


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
