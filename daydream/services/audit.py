"""The audit log: one row per staff action, written in the action's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from daydream.extensions import db
from daydream.models import AuditEntry, User

PAGE_SIZE = 50


def record(actor: User, action: str, *, target_user: User | None = None,
           target: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry for ``actor`` doing ``action``; the caller commits with the action."""
    entry = AuditEntry(
        actor_id=actor.id, actor_email=actor.email, action=action,
        target_user_id=target_user.id if target_user else None,
        target=target or (target_user.email if target_user else None),
        before=before, after=after,
    )
    db.session.add(entry)
    return entry


@dataclass
class AuditPage:
    """One page of the audit log, newest first."""

    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


def entries(page: int = 1, *, action: str = "", target_user_id: int | None = None,
            page_size: int = PAGE_SIZE) -> AuditPage:
    """The log, newest first, optionally for one action or one affected user."""
    stmt = select(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if target_user_id is not None:
        stmt = stmt.where(AuditEntry.target_user_id == target_user_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(stmt.order_by(AuditEntry.id.desc())
                              .offset((page - 1) * page_size).limit(page_size))
    return AuditPage(list(rows), page, pages, total)


def actions() -> list[str]:
    """Every action name that appears in the log, for the filter."""
    return list(db.session.scalars(select(AuditEntry.action).distinct()
                                   .order_by(AuditEntry.action)))
