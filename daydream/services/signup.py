"""The operator's sign-up policy: open, by voucher only, or closed."""

from __future__ import annotations

from flask import current_app

from daydream.extensions import db
from daydream.models import User
from daydream.services import users, vouchers


def policy() -> str:
    """``open``, ``voucher`` or ``closed`` (``DAYDREAM_SIGNUP_POLICY``)."""
    return current_app.config["SIGNUP_POLICY"]


def register(email: str, password: str, username: str | None,
             voucher_code: str | None) -> User | None:
    """Create an account as the policy allows; under ``voucher`` the code is redeemed too.

    Returns None when the email already has an account (``users.sign_up`` answers both the
    same way, and no voucher is spent). Raises users.AccountError (field ``voucher`` for a
    refused code). A code used up between the check and the redemption removes the new
    account again, so no account slips in without a voucher.
    """
    if policy() == "closed":
        raise users.AccountError("Sign-ups are closed on this server.", "email")
    code = (voucher_code or "").strip()
    if policy() == "voucher":
        if not code:
            raise users.AccountError("Enter the voucher code you were given.", "voucher")
        try:
            vouchers.find_usable(code)
        except vouchers.VoucherError as error:
            raise users.AccountError(str(error), "voucher") from None
    user = users.sign_up(email, password, username=username)
    if user is not None and policy() == "voucher":
        try:
            vouchers.redeem(user.id, code)
        except vouchers.VoucherError as error:
            db.session.delete(db.session.get(User, user.id))
            db.session.commit()
            raise users.AccountError(str(error), "voucher") from None
    return user
