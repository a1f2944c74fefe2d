"""Helpers shared by the model modules."""

from datetime import UTC, datetime

import shortuuid

from daydream.extensions import db

# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger number (a URL part, a cursor) can
# name no row, and sent to PostgreSQL it is an out-of-range error, not "not found".
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """The current time in UTC, evaluated per row (never a fixed import-time default)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    """A short, URL-safe unique identifier (22 characters)."""
    return shortuuid.uuid()


def commit_keeping_values() -> None:
    """Commit without expiring the rows the session holds: their loaded values stay (what
    was just written included) instead of being read again on next use. For hot paths whose
    rows nobody else changes meanwhile (a task being submitted, claimed or finished)."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
