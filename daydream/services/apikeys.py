"""API keys: create, list and revoke them, and find the key a request presents.

A key is ``dd_`` plus 43 random URL-safe characters (256 bits). Only its SHA-256 is stored:
a key that high in entropy needs no slow hash, and looking it up by hash is a constant-time
comparison (the database compares digests, never the secret).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select

from daydream.extensions import db
from daydream.models import ApiKey, User
from daydream.models.base import utcnow

KEY_PREFIX = "dd_"
VISIBLE_CHARS = 11  # "dd_" and 8 more: enough to tell keys apart, far too few to guess
MAX_NAME_CHARS = 64
MAX_KEYS_PER_USER = 20
MAX_KEY_CHARS = 200  # anything longer is not one of ours; refuse before hashing
# last_used_at is for people, not audits: a write per minute per key is plenty.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class ApiKeyError(ValueError):
    """A key could not be created; the message says why."""


def hash_key(token: str) -> str:
    """The stored form of a key: its hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(user: User, name: str) -> tuple[ApiKey, str]:
    """Create and commit a named key; returns the row and the full key (shown once)."""
    name = " ".join((name or "").split())
    if not name:
        raise ApiKeyError("Give the key a name, e.g. the script or program that will use it.")
    if len(name) > MAX_NAME_CHARS:
        raise ApiKeyError(f"The name must be at most {MAX_NAME_CHARS} characters.")
    count = db.session.scalar(select(func.count(ApiKey.id)).where(ApiKey.user_id == user.id))
    if (count or 0) >= MAX_KEYS_PER_USER:
        raise ApiKeyError(f"You already have {MAX_KEYS_PER_USER} keys; revoke one first.")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, name=name, prefix=token[:VISIBLE_CHARS],
                 key_hash=hash_key(token))
    db.session.add(key)
    db.session.commit()
    return key, token


def list_keys(user: User) -> list[ApiKey]:
    """The user's keys, newest first."""
    return list(db.session.scalars(
        select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id.desc())))


def revoke(user: User, key_id: int) -> bool:
    """Delete one of the user's keys at once; False if it is not theirs (or gone)."""
    result = db.session.execute(
        delete(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user.id)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def find(token: str) -> ApiKey | None:
    """The key with this secret, recording its use; None for anything unknown."""
    if not token or len(token) > MAX_KEY_CHARS or not token.startswith(KEY_PREFIX):
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(token)))
    if key is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return key
