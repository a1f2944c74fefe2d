"""Idempotent submits: the same ``Idempotency-Key`` from the same account is one task.

A client whose connection broke before it saw the answer retries with the same key and
gets the task its first attempt created, charged once. The key row is written in the
task's own transaction (see ``tasks.submit``'s ``claim``), so the unique (user, key) pair
decides between racing retries in the database, across any number of web processes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from daydream.extensions import db
from daydream.models import IdempotencyKey, Task, User
from daydream.models.base import utcnow

HEADER = "Idempotency-Key"
# Visible ASCII, as the IETF draft's examples (UUIDs, random tokens) and Stripe's keys use.
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class InvalidKey(ValueError):
    """The header is empty, too long or not visible ASCII."""


class KeyReused(Exception):
    """The key was already used by this account for a different request."""


def check_key(raw: str) -> str:
    """The key as sent, if it is usable; InvalidKey says why not."""
    key = raw.strip()
    if not VALID_KEY.fullmatch(key):
        raise InvalidKey(f"The {HEADER} header must be 1 to 255 visible ASCII characters "
                         "(a UUID is a good choice).")
    return key


def fingerprint(body: dict[str, Any]) -> str:
    """SHA-256 of the request body in a canonical form (key order and spacing ignored)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_once(user: User, key: str, body_hash: str,
                submit: Callable[[Callable[[Task], None]], Task]) -> tuple[Task, bool]:
    """Run ``submit`` unless the key names an earlier task; return (task, replayed).

    ``submit`` receives a ``claim`` to call inside its transaction, once the task has an
    id and before anything is charged.
    """
    earlier = _earlier_task(user.id, key, body_hash)
    if earlier is not None:
        return earlier, True
    try:
        return submit(lambda task: _claim(user.id, key, body_hash, task)), False
    except IntegrityError:
        # A concurrent retry with this key committed first; its task is ours, our
        # transaction (task and charge) rolled back whole.
        db.session.rollback()
        earlier = _earlier_task(user.id, key, body_hash)
        if earlier is None:
            raise
        return earlier, True


def _earlier_task(user_id: int, key: str, body_hash: str) -> Task | None:
    row = db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
        IdempotencyKey.expires_at > utcnow()))
    if row is None:
        return None
    if row.request_hash != body_hash:
        raise KeyReused(f"This {HEADER} was already used for a different request. "
                        "Use a new key for a new task.")
    return db.session.get(Task, row.task_id)


def _claim(user_id: int, key: str, body_hash: str, task: Task) -> None:
    now = utcnow()
    # An expired row of the same key would block the insert; expired rows of this account
    # go with it, which keeps the table small without a separate clean-up job.
    db.session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.expires_at <= now))
    hours = current_app.config["IDEMPOTENCY_HOURS"]
    db.session.add(IdempotencyKey(user_id=user_id, key=key, request_hash=body_hash,
                                  task_id=task.id, created_at=now,
                                  expires_at=now + timedelta(hours=hours)))
    db.session.flush()
