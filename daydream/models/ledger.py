"""The credit ledger: every grant, charge and refund, one row each."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from daydream.extensions import db
from daydream.models.base import utcnow


class EntryKind(enum.StrEnum):
    """Why the balance moved."""

    SIGNUP = "signup"
    GRANT = "grant"
    CHARGE = "charge"
    REFUND = "refund"


class CreditEntry(db.Model):
    """One movement of a user's credits; the balance always equals their sum."""

    __tablename__ = "credit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    delta: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("task.id", ondelete="SET NULL"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
