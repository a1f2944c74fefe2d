"""The credit ledger: every grant, charge and refund, one row each."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from daydream.extensions import db
from daydream.models.base import utcnow


class EntryKind(enum.StrEnum):
    """Why the balance moved."""

    SIGNUP = "signup"
    GRANT = "grant"
    REVOKE = "revoke"
    CHARGE = "charge"
    REFUND = "refund"
    VOUCHER = "voucher"
    ALLOWANCE = "allowance"

    @property
    def label(self) -> str:
        """How pages name this kind of entry."""
        return ENTRY_LABELS[self]


ENTRY_LABELS = {
    EntryKind.SIGNUP: "Starting credits",
    EntryKind.GRANT: "Granted by staff",
    EntryKind.REVOKE: "Removed by staff",
    EntryKind.CHARGE: "Task charge",
    EntryKind.REFUND: "Task refund",
    EntryKind.VOUCHER: "Voucher",
    EntryKind.ALLOWANCE: "Daily allowance",
}


class CreditEntry(db.Model):
    """One movement of a user's credits; the balance always equals their sum."""

    __tablename__ = "credit_entry"
    # The admin dashboard's credits chart reads the last weeks of the ledger.
    __table_args__ = (sa.Index("ix_credit_entry_created_at", "created_at"),)

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

    actor = relationship("User", foreign_keys=[actor_id])
    task = relationship("Task")

    @property
    def label(self) -> str:
        """The kind, as pages name it."""
        try:
            return EntryKind(self.kind).label
        except ValueError:
            return self.kind
