"""Accounts: creating users, logging in, editing profiles."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import EntryKind, Role, User
from daydream.models.base import new_uuid, utcnow
from daydream.services import credits
from daydream.services.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)


class AccountError(ValueError):
    """A readable reason an account change was refused; ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    """The user with this email, if any."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def find_by_sessionid(sessionid: str) -> User | None:
    """The user whose current login session has this id (Flask-Login's user loader)."""
    return db.session.scalar(select(User).where(User.sessionid == sessionid))


def create_user(
    email: str,
    password: str,
    *,
    staff: bool = False,
    tokens: int | None = None,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Create and commit an account with its starting credits recorded in the ledger."""
    email = normalize_email(email)
    if not email or "@" not in email:
        raise AccountError("Enter a valid email address.", "email")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, "password")
    if find_by_email(email):
        raise AccountError("An account with this email already exists.", "email")
    if tokens is not None and tokens < 0:
        raise AccountError("Starting credits cannot be negative.", "tokens")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=Role.STAFF.value if staff else Role.USER.value,
        tokens=0,
        username=username or None,
        first_name=first_name or None,
        last_name=last_name or None,
    )
    db.session.add(user)
    db.session.flush()
    grant = current_app.config["STARTING_CREDITS"] if tokens is None else tokens
    if grant:
        credits.credit(user.id, grant, EntryKind.SIGNUP, note="Starting credits")
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (never says which part was wrong)."""
    user = find_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if not (user and ok and user.active):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(user: User) -> None:
    """Give the user a fresh session id (as the seed did at every login) and commit."""
    user.sessionid = new_uuid()
    user.last_login_at = utcnow()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; ends other sessions."""
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is not correct.", "current_password")
    problem = password_problem(new)
    if problem:
        raise AccountError(problem, "new_password")
    user.password_hash = hash_password(new)
    user.sessionid = new_uuid()
    db.session.commit()


def change_email(user: User, new_email: str, password: str) -> None:
    """Change the login email after checking the password."""
    if not verify_password(user.password_hash, password):
        raise AccountError("Your password is not correct.", "password")
    email = normalize_email(new_email)
    existing = find_by_email(email)
    if existing and existing.id != user.id:
        raise AccountError("An account with this email already exists.", "email")
    user.email = email
    db.session.commit()


def update_profile(user: User, **fields: str | bool | None) -> None:
    """Update the editable profile fields."""
    allowed = {"username", "first_name", "last_name", "mobile", "cancel_abandoned"}
    for name, value in fields.items():
        if name not in allowed:
            raise AccountError(f"{name} cannot be edited here.", name)
        setattr(user, name, value.strip() or None if isinstance(value, str) else value)
    db.session.commit()

