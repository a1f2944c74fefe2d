"""Voucher codes: created by staff, redeemed by users for credits, hashed at rest.

Redemption is one transaction: a conditional ``UPDATE`` takes a use only while uses are
left and the code has not expired, a unique (voucher, user) row refuses a second
redemption, and the credit lands in the ledger. Concurrent attempts can never exceed the
allowed number, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from daydream.extensions import db
from daydream.models import EntryKind, User, Voucher, VoucherRedemption
from daydream.models.base import utcnow
from daydream.services import audit, credits, ratelimit

# No 0/O, 1/I/L: codes are read aloud and typed from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 4, 4
MAX_AMOUNT = 1_000_000
MAX_USES = 100_000


class VoucherError(ValueError):
    """A code was refused; the message says why, for the person who typed it."""


class TooManyAttempts(VoucherError):
    """Redemption is throttled; try again in ``wait`` seconds."""

    def __init__(self, wait: int) -> None:
        super().__init__(f"Too many voucher attempts. Try again in {wait} seconds.")
        self.wait = wait


def normalize(code: str) -> str:
    """Codes compare without case, spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    """The stored form of a code: SHA-256 of its normalised text (codes are random)."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def new_code() -> str:
    """A random code like ``DD-7KQX-M2PA-93HT-WXRE`` (80 bits)."""
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH))
              for _ in range(GROUPS))
    return "DD-" + "-".join(groups)


def create(actor: User, amount: int, max_uses: int = 1, expires_at: datetime | None = None,
           note: str | None = None) -> tuple[Voucher, str]:
    """Create a voucher and commit; returns it with the code, which is shown only once."""
    if not 1 <= amount <= MAX_AMOUNT:
        raise VoucherError(f"The amount must be between 1 and {MAX_AMOUNT:,}.")
    if not 1 <= max_uses <= MAX_USES:
        raise VoucherError(f"The number of uses must be between 1 and {MAX_USES:,}.")
    if expires_at is not None and expires_at <= utcnow():
        raise VoucherError("The expiry must be in the future.")
    code = new_code()
    voucher = Voucher(code_hash=code_hash(code), hint=normalize(code)[-4:], amount=amount,
                      max_uses=max_uses, expires_at=expires_at, note=note or None,
                      created_by_id=actor.id)
    db.session.add(voucher)
    db.session.flush()
    audit.record(actor, "voucher.create", target=f"voucher …{voucher.hint}", after={
        "amount": amount, "max_uses": max_uses, "note": note or None,
        "expires_at": expires_at.isoformat() if expires_at else None})
    db.session.commit()
    return voucher, code


def throttle(user_id: int) -> None:
    """Count one redemption attempt; TooManyAttempts when the person is going too fast."""
    wait = ratelimit.voucher_wait(user_id)
    if wait:
        raise TooManyAttempts(wait)


def find_usable(code: str, user_id: int | None = None) -> Voucher:
    """The voucher for ``code`` if it can still be redeemed (by ``user_id``), else VoucherError."""
    voucher = db.session.scalar(select(Voucher).where(Voucher.code_hash == code_hash(code)))
    if voucher is None or not normalize(code):
        raise VoucherError("This voucher code is not valid.")
    if voucher.expires_at is not None and voucher.expires_at <= utcnow():
        raise VoucherError("This voucher code has expired.")
    if user_id is not None and db.session.scalar(select(VoucherRedemption.id).where(
            VoucherRedemption.voucher_id == voucher.id, VoucherRedemption.user_id == user_id)):
        raise VoucherError("You have already redeemed this voucher code.")
    if voucher.uses >= voucher.max_uses:
        raise VoucherError("This voucher code has been used up.")
    return voucher


def redeem(user_id: int, code: str) -> int:
    """Redeem ``code`` for the user and commit; returns the credits added."""
    voucher = find_usable(code, user_id)
    voucher_id, amount, hint = voucher.id, voucher.amount, voucher.hint
    now = utcnow()
    taken = db.session.execute(
        update(Voucher)
        .where(Voucher.id == voucher_id, Voucher.uses < Voucher.max_uses,
               or_(Voucher.expires_at.is_(None), Voucher.expires_at > now))
        .values(uses=Voucher.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        raise VoucherError("This voucher code has been used up.")
    try:
        db.session.add(VoucherRedemption(voucher_id=voucher_id, user_id=user_id))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise VoucherError("You have already redeemed this voucher code.") from None
    credits.credit(user_id, amount, EntryKind.VOUCHER, note=f"code …{hint}")
    db.session.commit()
    return amount


def listing(limit: int = 200) -> list[Voucher]:
    """Vouchers, newest first."""
    return list(db.session.scalars(select(Voucher).order_by(Voucher.id.desc()).limit(limit)))


def revoke(actor: User, voucher: Voucher) -> None:
    """Use up a voucher at once (no further redemptions) and commit."""
    before = {"uses": voucher.uses, "max_uses": voucher.max_uses}
    voucher.max_uses = voucher.uses
    audit.record(actor, "voucher.revoke", target=f"voucher …{voucher.hint}", before=before,
                 after={"uses": voucher.uses, "max_uses": voucher.max_uses})
    db.session.commit()
