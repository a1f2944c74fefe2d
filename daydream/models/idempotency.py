"""Idempotency keys: a retried API submit finds the task its first attempt created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daydream.extensions import db
from daydream.models.base import utcnow


class IdempotencyKey(db.Model):
    """A client's ``Idempotency-Key`` for one submit, unique per account until it expires.

    Inserted in the same transaction as the task and its charge, so two racing retries can
    never both be charged: the second one's insert fails on the unique (user, key) pair.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # Hex SHA-256 of the request body: the same key with another body is a client error.
    request_hash: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    def __repr__(self) -> str:
        return f"<IdempotencyKey {self.key!r} of user {self.user_id} → task {self.task_id}>"
