"""Login sessions: one row per browser login, so a logout can end it on the server."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from daydream.extensions import db
from daydream.models.base import utcnow


class LoginSession(db.Model):
    """A login: the cookie holds a random key, the row only its SHA-256."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # Hex SHA-256 of the key in the session and remember cookies: a leaked table logs no one in.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What the account page shows to tell logins apart: a browser summary and the address.
    device: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(32))

    user = relationship(
        "User",
        backref=backref("login_sessions", cascade="all, delete-orphan", passive_deletes=True),
    )

    @property
    def is_ended(self) -> bool:
        """Whether this login was ended (logout, password change, staff, expiry)."""
        return self.ended_at is not None

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} of user {self.user_id}>"
