"""Helpers shared by the model modules."""

from datetime import UTC, datetime
from typing import TypeVar

import shortuuid
from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

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


Row = TypeVar("Row")


def detached_copy(row: Row, *related: str) -> Row:
    """A copy of a loaded row in no session, with its column values (and those of the
    ``related`` rows it has loaded, copied alike): another thread may read it, or
    ``db.session.add`` it to work on without reading the row again. What it does not carry
    cannot be loaded until it is added."""
    mapper = inspect(type(row))
    copy = mapper.class_manager.new_instance()
    for column in mapper.column_attrs:
        set_committed_value(copy, column.key, getattr(row, column.key))
    make_transient_to_detached(copy)
    for name in related:
        if name in row.__dict__:  # loaded (a relationship not loaded is not read now)
            other = row.__dict__[name]
            set_committed_value(copy, name, None if other is None else detached_copy(other))
    return copy


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
