"""Staff operations on accounts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, or_, select, update

from daydream.extensions import db
from daydream.models import Role, Task, TaskState, User
from daydream.services import audit, credits, events, logins, storage
from daydream.services.accounts import stop_unfinished_tasks

PAGE_SIZE = 25
# Sort keys staff can choose on the users list: name → (column, newest/largest first).
SORTS = {
    "newest": (User.id, True), "oldest": (User.id, False), "email": (User.email, False),
    "credits": (User.credits, True), "last_login": (User.last_login_at, True),
}


class AdminError(ValueError):
    """A staff action that was refused, with the reason."""


@dataclass
class UserPage:
    """One page of the user list."""

    users: list[User]
    page: int
    pages: int
    total: int


def list_users(query: str = "", page: int = 1, sort: str = "newest",
               page_size: int = PAGE_SIZE) -> UserPage:
    """Users matching ``query`` (email or name), in the chosen order, one page."""
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
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    column, descending = SORTS.get(sort, SORTS["newest"])
    order = column.desc().nulls_last() if descending else column.asc()
    rows = db.session.scalars(
        stmt.order_by(order, User.id.desc()).offset((page - 1) * page_size).limit(page_size)
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
    from daydream.services.statuses import positions

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
    """Grant (positive) or remove (negative) credits, audited, and commit."""
    before = user.credits
    if amount > 0:
        credits.credit(user.id, amount, actor_id=actor.id, note=note or None)
    elif amount < 0:
        credits.revoke(user.id, -amount, actor_id=actor.id, note=note or None)
    else:
        raise AdminError("Enter a non-zero amount.")
    db.session.flush()
    db.session.refresh(user)
    audit.record(actor, "credits.grant" if amount > 0 else "credits.remove", target_user=user,
                 before={"credits": before}, after={"credits": user.credits, "note": note or None})
    db.session.commit()


def toggle_active(user: User, actor: User) -> None:
    """Disable or re-enable an account; staff cannot disable themselves."""
    if user.id == actor.id:
        raise AdminError("You cannot disable your own account.")
    if user.active and user.is_staff and _other_active_staff(user) == 0:
        raise AdminError("This is the last active staff account; it cannot be disabled.")
    user.active = not user.active
    audit.record(actor, "user.enable" if user.active else "user.disable", target_user=user,
                 before={"active": not user.active}, after={"active": user.active})
    db.session.commit()
    if not user.active:
        logins.end_all(user, "account disabled")
        events.disconnect_user(user.id)
        # A disabled account's waiting work is cancelled and refunded; running work stops.
        stop_unfinished_tasks(user)


def _other_active_staff(user: User) -> int:
    return db.session.scalar(select(func.count(User.id)).where(
        User.role == Role.STAFF.value, User.active.is_(True), User.id != user.id)) or 0


def set_staff(user: User, actor: User, staff: bool) -> None:
    """Make or unmake staff; never yourself, never the last staff account."""
    if user.is_staff == staff:
        return
    if not staff and user.id == actor.id:
        raise AdminError("You cannot remove your own staff role.")
    role = Role.STAFF.value if staff else Role.USER.value
    guard = [User.id == user.id]
    if not staff:
        # Conditional: two staff demoting each other at once cannot both succeed.
        others = (select(func.count(User.id)).where(User.role == Role.STAFF.value,
                  User.active.is_(True), User.id != user.id).scalar_subquery())
        guard.append(others > 0)
    changed = db.session.execute(update(User).where(*guard).values(role=role)
                                 .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        db.session.rollback()
        raise AdminError("This is the last staff account; make someone else staff first.")
    audit.record(actor, "user.staff" if staff else "user.unstaff", target_user=user,
                 before={"role": user.role}, after={"role": role})
    db.session.commit()
    db.session.refresh(user)


def set_allowance(user: User, actor: User, cap: int | None) -> None:
    """Give the user their own daily allowance cap (None: their role's) and commit."""
    if cap is not None and cap < 0:
        raise AdminError("The allowance cannot be negative.")
    before = user.daily_allowance
    user.daily_allowance = cap
    audit.record(actor, "user.allowance", target_user=user,
                 before={"daily_allowance": before}, after={"daily_allowance": cap})
    db.session.commit()


def end_sessions(user: User, actor: User) -> int:
    """Log a user out everywhere (every login ends, sockets close); returns how many."""
    ended = logins.end_all(user, "ended by staff",
                           keep_id=actor.login_session_id if user.id == actor.id else None)
    audit.record(actor, "user.end_sessions", target_user=user, after={"ended": ended})
    db.session.commit()
    return ended


def delete_user(user: User, actor: User) -> None:
    """Delete an account with everything it owns; staff cannot delete themselves."""
    if user.id == actor.id:
        raise AdminError("You cannot delete your own account.")
    if user.is_staff and _other_active_staff(user) == 0:
        raise AdminError("This is the last active staff account; it cannot be deleted.")
    user_id, user_uuid = user.id, user.uuid
    # Rows deleted under a running task would crash its run: stop it cleanly first.
    if stop_unfinished_tasks(user, current_app.config["ACCOUNT_DELETE_WAIT_SECONDS"]):
        raise AdminError("A task of this user is still stopping; try again in a moment.")
    audit.record(actor, "user.delete", target_user=None, target=user.email,
                 before={"email": user.email, "credits": user.credits, "role": user.role})
    db.session.delete(user)
    db.session.commit()
    events.disconnect_user(user_id)
    storage.delete_user_files(user_uuid)


def recent_tasks(user: User, limit: int = 20) -> list[Task]:
    """A user's newest tasks, across all their sessions."""
    return list(db.session.scalars(
        select(Task).where(Task.user_id == user.id).order_by(Task.id.desc()).limit(limit)))
