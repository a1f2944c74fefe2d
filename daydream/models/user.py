"""User accounts."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from daydream.extensions import db
from daydream.models.base import new_uuid, utcnow


class Role(enum.StrEnum):
    """What an account may do."""

    USER = "user"
    STAFF = "staff"


class User(UserMixin, db.Model):
    """A person with a login, a credit balance and a studio session id."""

    __tablename__ = "user"
    __table_args__ = (CheckConstraint("credits >= 0", name="credits_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(42), unique=True, default=new_uuid)
    # The studio session ("This session" in the studio): kept across logins, changed only
    # when the user starts a new one. Logins are LoginSession rows, not this.
    sessionid: Mapped[str] = mapped_column(String(42), unique=True, default=new_uuid)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    username: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(64))
    last_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    subscription: Mapped[int] = mapped_column(Integer, default=0)
    # Cancel still-queued tasks once every page of the user has been closed for a while.
    cancel_abandoned: Mapped[bool] = mapped_column(Boolean, default=True)
    # Daily allowance: this user's own cap (None: their role's), and the last refill day.
    daily_allowance: Mapped[int | None] = mapped_column(Integer)
    allowance_on: Mapped[date | None] = mapped_column(Date)
    # The model this person's requests use when they name none (A1111's POST /options).
    default_model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when the person followed the link mailed to their address.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when the person deleted the account: the row stays, anonymised, for the ledger.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        """Whether the account may log in."""
        return bool(self.active)

    @property
    def is_staff(self) -> bool:
        """Whether the account has the staff role."""
        return self.role == Role.STAFF.value

    @property
    def display_name(self) -> str:
        """The friendliest name we have for the user."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return self.username or full or self.email

    # Set by services.logins when a login starts or is loaded; never stored on the row.
    login_key = None
    login_session_id = None

    def get_id(self) -> str:
        """The key of this request's login session (what the cookies carry)."""
        if not self.login_key:
            raise RuntimeError("log users in through services.logins.start")
        return self.login_key

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
