"""Signed, expiring, one-use links mailed to people: password reset and email confirmation.

No table holds them. Each token is signed with the secret key and carries what must still be
true for it to work: a reset link names a digest of the current password hash (so it dies
once the password changes), a confirmation link names the address it confirms (so it dies
once that address is verified or replaced).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import User

RESET = "password-reset"
VERIFY = "email-verify"
CHANGE = "email-change"


class LinkError(ValueError):
    """A link that is forged, expired or already used; the message says which, kindly."""


@dataclass
class LinkTarget:
    """Whom a valid link is for, and (for email links) which address."""

    user: User
    email: str | None = None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"daydream-{purpose}")


def _password_mark(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def _max_age(purpose: str) -> int:
    cfg = current_app.config
    return cfg["PASSWORD_RESET_MAX_AGE"] if purpose == RESET else cfg["EMAIL_LINK_MAX_AGE"]


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for a mail, on ``DAYDREAM_PUBLIC_URL`` (or a loopback address as
    requested): a Host header an attacker chose never lands in a reset link."""
    from daydream.security import PLACEHOLDER_URL, public_base_url

    base = public_base_url()
    if base == PLACEHOLDER_URL:
        current_app.logger.warning(
            "DAYDREAM_PUBLIC_URL is not set: mailed links point at %s instead of this site.",
            PLACEHOLDER_URL)
    return base + url_for(endpoint, **values)


def make_token(purpose: str, user: User, email: str | None = None) -> str:
    """A signed token for ``purpose``; email links name the address they confirm."""
    payload = {"u": user.uuid}
    if purpose == RESET:
        payload["p"] = _password_mark(user)
    else:
        payload["e"] = email or user.email
        payload["o"] = user.email
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str) -> LinkTarget:
    """The user (and address) a token is for; LinkError when it no longer works."""
    try:
        payload = _serializer(purpose).loads(token, max_age=_max_age(purpose))
    except SignatureExpired as error:
        raise LinkError("This link has expired. Ask for a new one.") from error
    except BadSignature as error:
        raise LinkError("This link is not valid. Ask for a new one.") from error
    user = db.session.scalar(select(User).where(User.uuid == str(payload.get("u"))))
    used = LinkError("This link was already used. Ask for a new one if you need it.")
    if user is None or user.deleted_at is not None:
        raise LinkError("This link is not valid any more.")
    if purpose == RESET:
        if payload.get("p") != _password_mark(user):
            raise used
        return LinkTarget(user)
    if payload.get("o") != user.email:
        raise used
    if purpose == VERIFY and user.email_verified_at is not None:
        raise used
    return LinkTarget(user, payload.get("e"))
