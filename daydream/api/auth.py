"""Who is calling: an API key from ``Authorization: Bearer`` or HTTP Basic, then its rate limit.

Both API blueprints use this; neither looks at session cookies, which is why they are exempt
from CSRF protection.
"""

from __future__ import annotations

from flask import g, request

from daydream.errors import api_error
from daydream.models import ApiKey, User
from daydream.services import apikeys, ratelimit


def presented_key() -> str | None:
    """The key in the request: a Bearer token, or the password of HTTP Basic (user ignored)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        credentials = request.authorization
        return credentials.password if credentials and credentials.password else None
    return None


def authenticate(challenge: str = 'Bearer realm="daydream"'):
    """Set ``g.api_user``/``g.api_key``, or return the 401/403/429 error response."""
    key = apikeys.find(presented_key() or "")
    if key is None:
        return api_error(
            401, "unauthorized",
            "Send a valid API key as 'Authorization: Bearer <key>' (create one on your "
            "account page, under API keys).", headers={"WWW-Authenticate": challenge})
    user: User = key.user
    if not user.active:
        return api_error(403, "account_disabled",
                         "This account is disabled; its API keys do not work.")
    wait = ratelimit.api_wait(key.id, user.id)
    if wait:
        return api_error(429, "rate_limited",
                         "Too many requests with this key or account (see the rate limits "
                         f"in the API documentation). Retry in {wait} s.",
                         {"retry_after": wait}, headers={"Retry-After": str(wait)})
    g.api_key = key
    g.api_user = user
    return None


def current() -> User:
    """The user whose key authenticated this request."""
    return g.api_user


def current_key() -> ApiKey:
    """The key that authenticated this request."""
    return g.api_key
