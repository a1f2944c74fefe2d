"""Rate limits and throttles on the ``limits`` library (moving windows).

Counters live in Redis when ``REDIS_URL`` is set, so every web process shares them; else in
this process's memory. Each check names what it counts (an API key, an account, an email,
an address) and answers 0 when allowed, or the whole seconds until the next try may pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Flask, current_app
from limits import (
    RateLimitItem,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

BURST_SECONDS = 10  # API_RATE_BURST counts requests within this window


@dataclass(frozen=True)
class Rule:
    """One limit on one kind of thing: ``item`` per window for each distinct ``kind`` id."""

    kind: str
    item: RateLimitItem


def _storage(app: Flask) -> Storage:
    """The app's counter storage, built on first use (never at import or factory time)."""
    url = app.config.get("REDIS_URL")
    cached = app.extensions.get("daydream.limits")
    if cached is None or cached[0] != url:
        storage = storage_from_string(url) if url else MemoryStorage()
        cached = app.extensions["daydream.limits"] = (url, storage)
    return cached[1]


def _limiter(app: Flask) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(_storage(app))


def check(rules: list[tuple[Rule, str]], app: Flask | None = None) -> int:
    """Count one attempt against every rule; 0 when all allow it, else seconds to wait."""
    app = app or current_app._get_current_object()
    limiter = _limiter(app)
    namespace = app.config.get("RATE_LIMIT_NAMESPACE", "daydream")
    for rule, identity in rules:
        ids = (namespace, rule.kind, identity)
        if not limiter.hit(rule.item, *ids):
            reset_at = limiter.get_window_stats(rule.item, *ids).reset_time
            return max(1, math.ceil(reset_at - time.time()))
    return 0


def _per_minute(kind: str, amount: int) -> list[Rule]:
    return [Rule(kind, RateLimitItemPerMinute(amount))] if amount > 0 else []


def _burst(kind: str, amount: int) -> list[Rule]:
    return [Rule(kind + "-burst", RateLimitItemPerSecond(amount, BURST_SECONDS))] \
        if amount > 0 else []


def api_wait(key_id: int, user_id: int) -> int:
    """One API request: limited per key and per account (more keys buy no more rate)."""
    cfg = current_app.config
    per_key = cfg["API_RATE_LIMIT"]
    rules = [(rule, str(key_id)) for rule in
             (_burst("api-key", cfg["API_RATE_BURST"]) if per_key > 0 else [])
             + _per_minute("api-key", per_key)]
    rules += [(rule, str(user_id)) for rule in
              _per_minute("api-account", cfg["API_ACCOUNT_RATE_LIMIT"])]
    return check(rules)


def login_wait(email: str, address: str | None) -> int:
    """One login attempt: limited per (email, address) and per email from all addresses."""
    cfg = current_app.config
    pair = f"{email}|{address or '-'}"
    rules = [(rule, pair) for rule in _per_minute("login", cfg["LOGIN_ATTEMPTS_PER_MINUTE"])]
    per_hour = cfg["LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR"]
    if per_hour > 0:
        rules.append((Rule("login-email", RateLimitItemPerHour(per_hour)), email))
    return check(rules)


def signup_wait(address: str | None) -> int:
    """One sign-up attempt from an address (each account brings free credits)."""
    per_hour = current_app.config["SIGNUPS_PER_ADDRESS_PER_HOUR"]
    if per_hour <= 0:
        return 0
    return check([(Rule("signup", RateLimitItemPerHour(per_hour)), address or "-")])


def voucher_wait(user_id: int) -> int:
    """One voucher redemption attempt by an account (codes are random: guessing is slow)."""
    cfg = current_app.config
    rules = [(rule, str(user_id)) for rule in
             _per_minute("voucher", cfg["VOUCHER_ATTEMPTS_PER_MINUTE"])]
    per_hour = cfg["VOUCHER_ATTEMPTS_PER_HOUR"]
    if per_hour > 0:
        rules.append((Rule("voucher-hour", RateLimitItemPerHour(per_hour)), str(user_id)))
    return check(rules)


def reauth_wait(user_id: int) -> int:
    """One password check of a logged-in account (before ending sessions)."""
    return check([(rule, str(user_id)) for rule in
                  _per_minute("reauth", current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"])])
