"""API keys: a person's credentials for scripts and A1111 clients, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from daydream.extensions import db
from daydream.models.base import utcnow


class ApiKey(db.Model):
    """One named key. Only its SHA-256 and a short visible prefix are kept, never the key."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    # Hex SHA-256 of the whole key: lookup by hash is the constant-time comparison.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship(
        "User", backref=backref("api_keys", cascade="all, delete-orphan", passive_deletes=True)
    )

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix}… of user {self.user_id}>"
