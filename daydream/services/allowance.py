"""The daily allowance: once a day, a balance below the cap is topped up to it.

The cap is the user's own (set by staff) or their role's (``DAILY_ALLOWANCE_USER`` /
``DAILY_ALLOWANCE_STAFF``); 0 means no allowance. The day is claimed with a conditional
``UPDATE`` on ``allowance_on``, so two requests at midnight refill once, in any process.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import or_, select, update

from daydream.extensions import db
from daydream.models import EntryKind, User
from daydream.services import credits


def today() -> date:
    """The allowance day (UTC)."""
    return datetime.now(UTC).date()


def cap_for(user: User) -> int:
    """The balance the allowance refills to each day for this user (0: none)."""
    if user.daily_allowance is not None:
        return max(0, user.daily_allowance)
    key = "DAILY_ALLOWANCE_STAFF" if user.is_staff else "DAILY_ALLOWANCE_USER"
    return max(0, current_app.config[key])


def due(user: User) -> bool:
    """Whether a refill could happen now (cheap: no query)."""
    return user.allowance_on != today() and cap_for(user) > 0


def refill(user: User) -> int:
    """Top the balance up to the cap if today's refill has not happened; returns credits added."""
    if not due(user):
        return 0
    cap, day = cap_for(user), today()
    claimed = db.session.execute(
        update(User).where(User.id == user.id,
                           or_(User.allowance_on.is_(None), User.allowance_on < day))
        .values(allowance_on=day).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return 0
    balance = db.session.scalar(select(User.credits).where(User.id == user.id)) or 0
    added = max(0, cap - balance)
    if added:
        credits.credit(user.id, added, EntryKind.ALLOWANCE, note=f"refill up to {cap}")
    db.session.commit()
    db.session.refresh(user)
    return added
