"""Login sessions: start one at login, check it on every request, end it on the server.

The session cookie and the remember-me cookie carry only a random key; the row keeps its
SHA-256. Flask-Login's user loader goes through :func:`load`, so an ended or expired row
logs nobody in, whichever cookie is replayed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from daydream.extensions import db
from daydream.models import LoginSession, User
from daydream.models.base import utcnow
from daydream.services import events

# last_seen_at is written at most this often per login, not on every request.
SEEN_RESOLUTION = timedelta(seconds=60)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def room(login_id: int) -> str:
    """The Socket.IO room of one login's sockets, so logout closes exactly those."""
    return f"login:{login_id}"


def describe_agent(user_agent: str) -> str:
    """A short browser/system summary of a User-Agent header for the sessions list."""
    agent = user_agent or ""
    browser = next((name for token, name in (
        ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
        ("Safari/", "Safari"), ("curl/", "curl"), ("python", "Python")) if token in agent),
        "Unknown browser")
    system = next((name for token, name in (
        ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
        ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux")) if token in agent), "")
    return f"{browser} on {system}" if system else browser


def start(user: User, *, user_agent: str = "", address: str | None = None) -> str:
    """Record a new login for ``user`` and return its key (for the cookies only)."""
    key = secrets.token_urlsafe(32)
    row = LoginSession(user_id=user.id, key_hash=_digest(key),
                       device=describe_agent(user_agent)[:120], address=(address or "")[:64])
    db.session.add(row)
    user.last_login_at = utcnow()
    db.session.commit()
    user.login_key, user.login_session_id = key, row.id
    return key


def _expired(row: LoginSession, now: datetime) -> bool:
    cfg = current_app.config
    idle, limit = cfg["SESSION_IDLE_SECONDS"], cfg["SESSION_MAX_SECONDS"]
    return bool((idle and now - row.last_seen_at > timedelta(seconds=idle))
                or (limit and now - row.created_at > timedelta(seconds=limit)))


def load(key: str) -> User | None:
    """The user of a live login with this key (Flask-Login's user loader), else None."""
    if not key:
        return None
    row = db.session.scalar(select(LoginSession).where(LoginSession.key_hash == _digest(key))
                            .options(joinedload(LoginSession.user)))  # every request: one query
    if row is None or row.is_ended:
        return None
    now = utcnow()
    if _expired(row, now):
        end(row, "expired")
        return None
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    user = row.user
    user.login_key, user.login_session_id = key, row.id
    return user


def active(user: User) -> list[LoginSession]:
    """The user's logins that have not ended, most recently seen first."""
    return list(db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id,
                                   LoginSession.ended_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())))


def end(row: LoginSession, reason: str) -> None:
    """End one login now and close its sockets."""
    db.session.execute(update(LoginSession).where(LoginSession.id == row.id,
                                                  LoginSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), ended_reason=reason))
    db.session.commit()
    events.disconnect_room(room(row.id))


def end_current(user: User, reason: str = "logout") -> None:
    """End the login this request belongs to (logout)."""
    row = db.session.get(LoginSession, getattr(user, "login_session_id", None) or 0)
    if row is not None:
        end(row, reason)


def own_live(user: User, login_id: int) -> LoginSession | None:
    """One of the user's own logins that has not ended, else None."""
    row = db.session.get(LoginSession, login_id)
    if row is None or row.user_id != user.id or row.is_ended:
        return None
    return row


def end_all(user: User, reason: str, *, keep_id: int | None = None) -> int:
    """End every live login of ``user`` except ``keep_id``; returns how many ended."""
    rows = [row for row in active(user) if row.id != keep_id]
    for row in rows:
        end(row, reason)
    return len(rows)


def ended_note(count: int) -> str:
    """Tell the user what happened to their other logins."""
    if not count:
        return "You had no other active sessions."
    return (f"We logged you out of your {count} other session{'s' if count > 1 else ''}; "
            "this one stays logged in.")


def end_everyone(reason: str) -> int:
    """End every live login of every account (after a suspected breach); returns how many."""
    rows = list(db.session.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None))))
    for row in rows:
        end(row, reason)
    return len(rows)


def log_in(user: User, *, remember: bool = False) -> None:
    """Start a login for this request's browser and set its cookies (Flask-Login)."""
    from flask import request
    from flask_login import login_user

    start(user, user_agent=request.headers.get("User-Agent", ""), address=request.remote_addr)
    login_user(user, remember=remember)
