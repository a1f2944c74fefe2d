"""Rate limits (API keys, login attempts): an in-process token bucket per key.

Each process keeps its own buckets, so N web processes allow up to N times the rate; a
limit shared across processes would live in Redis.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable

from flask import Flask, current_app


class RateLimiter:
    """``per_minute`` requests a minute per key, with bursts of up to ``burst``."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.per_minute = per_minute
        self.burst = max(1, burst)
        self._rate = per_minute / 60.0  # tokens per second
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: Hashable, now: float | None = None) -> int:
        """Take one token for ``key``: 0 when allowed, else whole seconds until one is free."""
        if self.per_minute <= 0:  # 0 turns the limit off
            return 0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, stamp = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._rate))


def _cached(app: Flask, name: str, per_minute: int, burst: int) -> RateLimiter:
    """The app's limiter called ``name``, rebuilt when its settings change (tests do)."""
    current = app.extensions.get(name)
    if current is None or (current.per_minute, current.burst) != (per_minute, max(1, burst)):
        current = app.extensions[name] = RateLimiter(per_minute, burst)
    return current


def limiter(app: Flask | None = None) -> RateLimiter:
    """The per-API-key limiter."""
    app = app or current_app._get_current_object()
    return _cached(app, "daydream.ratelimit", app.config["API_RATE_LIMIT"],
                   app.config["API_RATE_BURST"])


def login_limiter(app: Flask | None = None) -> RateLimiter:
    """Login attempts per (email, address): slows password guessing to a crawl."""
    app = app or current_app._get_current_object()
    return _cached(app, "daydream.login_ratelimit", app.config["LOGIN_ATTEMPTS_PER_MINUTE"],
                   app.config["LOGIN_ATTEMPTS_BURST"])
