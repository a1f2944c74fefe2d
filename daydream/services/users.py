"""Accounts: creating users, logging in, editing profiles."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from daydream.extensions import db
from daydream.models import EntryKind, Role, User
from daydream.models.base import new_uuid
from daydream.services import credits, logins
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


def create_user(
    email: str,
    password: str,
    *,
    staff: bool = False,
    starting_credits: int | None = None,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Create and commit an account with its starting credits recorded in the ledger."""
    email = _checked_credentials(email, password, username)
    if find_by_email(email):
        raise AccountError("An account with this email already exists.", "email")
    if starting_credits is not None and starting_credits < 0:
        raise AccountError("Starting credits cannot be negative.", "credits")
    if starting_credits is not None and starting_credits > credits.MAX_BALANCE:
        raise AccountError(f"Starting credits cannot exceed {credits.MAX_BALANCE:,}.", "credits")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=Role.STAFF.value if staff else Role.USER.value,
        credits=0,
        username=username or None,
        first_name=first_name or None,
        last_name=last_name or None,
    )
    db.session.add(user)
    db.session.flush()
    grant = current_app.config["STARTING_CREDITS"] if starting_credits is None else starting_credits
    if grant:
        credits.credit(user.id, grant, EntryKind.SIGNUP, note="Starting credits")
    db.session.commit()
    return user


def _checked_credentials(email: str, password: str, username: str | None = None) -> str:
    """The normalised email, or AccountError for a malformed email or a weak password."""
    email = normalize_email(email)
    if not email or "@" not in email:
        raise AccountError("Enter a valid email address.", "email")
    problem = password_problem(password, (email.partition("@")[0], username))
    if problem:
        raise AccountError(problem, "password")
    return email


def sign_up(email: str, password: str, *, username: str | None = None) -> User | None:
    """Create an account from the public sign-up form, or None when the email is taken.

    Both outcomes do the same work (one password hash) and the caller answers both the same
    way, so sign-up never reveals which addresses have accounts.
    """
    email = _checked_credentials(email, password, username)
    if find_by_email(email):
        hash_password(password)
        return None
    try:
        return create_user(email, password, username=username)
    except (AccountError, IntegrityError):  # taken meanwhile by a concurrent sign-up
        db.session.rollback()
        return None


class AccountDisabled(AccountError):
    """Right credentials, but staff disabled the account."""


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (never says which part was wrong).

    Only someone who knows the password learns that the account is disabled
    (AccountDisabled), so the message reveals nothing to a guesser.
    """
    user = find_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user and ok and not user.active and user.deleted_at is None:
        raise AccountDisabled("This account is disabled. Ask the operator of this server.")
    if not (user and ok and user.active):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def new_studio_session(user: User) -> None:
    """Start a new studio session: the studio's timeline starts empty, older work stays."""
    user.sessionid = new_uuid()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> int:
    """Replace the password after checking the current one; ends the other logins.

    Returns how many other logins ended.
    """
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is not correct.", "current_password")
    problem = password_problem(new, (user.email.partition("@")[0], user.username))
    if problem:
        raise AccountError(problem, "new_password")
    user.password_hash = hash_password(new)
    db.session.commit()
    return logins.end_all(user, "password changed", keep_id=user.login_session_id)


def update_profile(user: User, **fields: str | bool | None) -> None:
    """Update the editable profile fields."""
    allowed = {"username", "first_name", "last_name", "mobile", "cancel_abandoned"}
    for name, value in fields.items():
        if name not in allowed:
            raise AccountError(f"{name} cannot be edited here.", name)
        setattr(user, name, value.strip() or None if isinstance(value, str) else value)
    db.session.commit()

