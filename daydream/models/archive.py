"""Account archives: a ZIP of all of a user's images, built in the background."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from daydream.extensions import db
from daydream.models.base import new_uuid, utcnow


class ArchiveState(enum.StrEnum):
    """queued → building → ready → expired, or failed."""

    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"

    @classmethod
    def unfinished(cls) -> tuple[str, str]:
        """States of an archive still being made."""
        return (cls.QUEUED.value, cls.BUILDING.value)


class Archive(db.Model):
    """One requested archive; the row, not any process's memory, is the truth."""

    __tablename__ = "archive"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(42), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=ArchiveState.QUEUED.value, index=True)
    images_done: Mapped[int] = mapped_column(Integer, default=0)
    images_total: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Refreshed while building: a stale building row belongs to a process that died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship(
        "User", backref=backref("archives", cascade="all, delete-orphan", passive_deletes=True))
