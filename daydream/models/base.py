"""Helpers shared by the model modules."""

from datetime import UTC, datetime

import shortuuid


def utcnow() -> datetime:
    """The current time in UTC, evaluated per row (never a fixed import-time default)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    """A short, URL-safe unique identifier (22 characters)."""
    return shortuuid.uuid()
