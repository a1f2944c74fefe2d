"""Password hashing with argon2id."""

from __future__ import annotations

import functools
import gzip
from collections.abc import Iterable
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# Words specific to this service (ASVS 5.0 V6.1.2 / V6.2.11); the account's own email name
# and username are added per check.
CONTEXT_WORDS = ("daydream", "stablediffusion", "stable diffusion")
COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt.gz"

# A fixed hash to verify against when the email is unknown, so both paths cost the same.
_DUMMY_PASSWORD = "daydream-timing-equaliser"
_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher().hash(password)


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash made once per parameter set, so an unknown email costs one verify, no more."""
    params = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = hasher.hash(_DUMMY_PASSWORD)
    return _DUMMY_HASHES[params]


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password against a stored hash; an unknown user costs the same time."""
    hasher = _hasher()
    try:
        return hasher.verify(stored_hash or _dummy_hash(hasher), password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than configured now."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords (see daydream/data/README.md)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def password_problem(password: str, context: Iterable[str | None] = ()) -> str | None:
    """A readable reason the password is unacceptable, or None.

    ``context`` holds the account's own words (email name, username): a password built on
    them, or on the site's name, is among the first an attacker tries.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be at most {MAX_PASSWORD_LENGTH} characters."
    if password.strip().lower() in common_passwords():
        return ("This is one of the most common passwords, the first ones anyone would try. "
                "Choose another; a few unrelated words make a strong one.")
    lowered = password.lower()
    words = {w.strip().lower() for w in (*CONTEXT_WORDS, *context) if w}
    if any(len(word) >= 4 and word in lowered for word in words):
        return ("Leave your email, your username and the site's name out of your password: "
                "they are the first words anyone would try.")
    return None
