"""Values worked out once per HTTP request (outside a request: every time).

Kept on the request itself, not in ``g``: ``g`` lives on the application context, which a
worker's side thread keeps for its whole life and a test may share across requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import has_request_context, request

T = TypeVar("T")
_KEY = "daydream.memo"


def once_per_request(name: str, make: Callable[[], T]) -> T:
    """``make()``, called at most once in this request under ``name``."""
    if not has_request_context():
        return make()
    memo = request.environ.setdefault(_KEY, {})
    if name not in memo:
        memo[name] = make()
    return memo[name]


def forget(name: str) -> None:
    """Drop ``name`` from this request's memo (what it held has changed)."""
    if has_request_context():
        request.environ.get(_KEY, {}).pop(name, None)
