"""Staff operations on accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from daydream.extensions import db
from daydream.models import Task, TaskState, User
from daydream.runtime import get_runtime
from daydream.services import credits, events, storage

PAGE_SIZE = 25


class AdminError(ValueError):
    """A staff action that was refused, with the reason."""


@dataclass
class UserPage:
    """One page of the user list."""

    users: list[User]
    page: int
    pages: int
    total: int


def list_users(query: str = "", page: int = 1) -> UserPage:
    """Users matching ``query`` (email or name), newest first, one page."""
    stmt = select(User)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(like),
                func.lower(User.username).like(like),
                func.lower(User.first_name).like(like),
                func.lower(User.last_name).like(like),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    rows = db.session.scalars(
        stmt.order_by(User.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    )
    return UserPage(list(rows), page, pages, total)


def stats() -> dict[str, int]:
    """Headline numbers for the admin panel."""
    count = db.session.scalar(select(func.count(User.id))) or 0
    queued = db.session.scalar(
        select(func.count(Task.id)).where(Task.state == TaskState.QUEUED.value)
    ) or 0
    running = db.session.scalar(
        select(func.count(Task.id)).where(Task.state == TaskState.RUNNING.value)
    ) or 0
    done = db.session.scalar(
        select(func.count(Task.id)).where(Task.state == TaskState.DONE.value)
    ) or 0
    return {"users": count, "queued": queued, "running": running, "done": done}


def queue_overview() -> list[dict]:
    """Running tasks, then waiting ones in the order they will run, with owner and ETA."""
    from daydream.services.tasks import positions

    where = positions()
    running = db.session.scalars(
        select(Task).where(Task.state == TaskState.RUNNING.value).order_by(Task.started_at))
    waiting = db.session.scalars(
        select(Task).where(Task.id.in_(list(where)))) if where else []
    rows = [{"task": t, "position": None, "eta": None} for t in running]
    rows += sorted(({"task": t, "position": where[t.id][0], "eta": where[t.id][1]}
                    for t in waiting), key=lambda row: row["position"])
    return rows


def adjust_credits(user: User, amount: int, actor: User, note: str | None) -> None:
    """Grant (positive) or remove (negative) credits and commit."""
    if amount > 0:
        credits.credit(user.id, amount, actor_id=actor.id, note=note or "Granted by staff")
    elif amount < 0:
        credits.revoke(user.id, -amount, actor_id=actor.id, note=note or "Removed by staff")
    db.session.commit()
    db.session.refresh(user)


def toggle_active(user: User, actor: User) -> None:
    """Disable or re-enable an account; staff cannot disable themselves."""
    if user.id == actor.id:
        raise AdminError("You cannot disable your own account.")
    user.active = not user.active
    db.session.commit()
    if not user.active:
        events.disconnect_user(user.id)


def delete_user(user: User, actor: User) -> None:
    """Delete an account with everything it owns; staff cannot delete themselves."""
    if user.id == actor.id:
        raise AdminError("You cannot delete your own account.")
    user_id, user_uuid = user.id, user.uuid
    runtime = get_runtime()
    for task in user.tasks:
        runtime.queue.remove(task.id)
        runtime.queue.request_cancel(task.id)
    db.session.delete(user)
    db.session.commit()
    events.disconnect_user(user_id)
    storage.delete_user_files(user_uuid)
