"""Password reset and email confirmation: what is mailed, and what following a link does."""

from __future__ import annotations

from flask import current_app

from daydream.extensions import db
from daydream.models import User
from daydream.models.base import utcnow
from daydream.services import links, logins, mail, users
from daydream.services.passwords import hash_password, password_problem, verify_password


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def send_reset(email: str) -> None:
    """Mail a reset link if an active account has this address; silent otherwise."""
    user = users.find_by_email(email)
    if user is None or not user.active or user.deleted_at is not None:
        return  # the page says the same either way: nobody learns who has an account
    url = links.external_url("auth.reset_password",
                             token=links.make_token(links.RESET, user))
    hours = _hours(current_app.config["PASSWORD_RESET_MAX_AGE"])
    mail.send(user.email, "Reset your Daydream password",
              f"Someone (hopefully you) asked to reset the password of your Daydream account.\n\n"
              f"Choose a new password here (the link works once, for {hours}):\n{url}\n\n"
              "If you did not ask for this, ignore this message; your password stays as it is.\n")


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; other sessions end. LinkError, AccountError."""
    user = links.read_token(links.RESET, token).user
    problem = password_problem(new_password)
    if problem:
        raise users.AccountError(problem, "password")
    user.password_hash = hash_password(new_password)
    # Following a link mailed to the address proves the person reads that mailbox.
    user.email_verified_at = user.email_verified_at or utcnow()
    db.session.commit()
    logins.end_all(user, "password reset")
    return user


def send_verification(user: User) -> None:
    """Mail a link that confirms the account's current address."""
    url = links.external_url("auth.verify_email",
                             token=links.make_token(links.VERIFY, user))
    mail.send(user.email, "Confirm your email for Daydream",
              f"Confirm that this address belongs to your Daydream account:\n{url}\n\n"
              "If you did not sign up for Daydream, ignore this message.\n")


def send_signup_notice(email: str) -> None:
    """Tell the owner of a taken address that someone tried to sign up with it.

    Sign-up answers a taken address like a new one; this mail (in place of the new account's
    confirmation) keeps the work of both the same and tells the owner what happened.
    """
    url = links.external_url("auth.forgot_password")
    mail.send(users.normalize_email(email), "Someone tried to sign up with your address",
              "Someone (perhaps you) tried to create a Daydream account with this address, "
              "which already has one. Nothing changed.\n\n"
              f"If you forgot your password, reset it here:\n{url}\n\n"
              "If it was not you, ignore this message.\n")


def verify_email(token: str) -> User:
    """Mark the address a verification link names as confirmed. LinkError if it is stale."""
    user = links.read_token(links.VERIFY, token).user
    user.email_verified_at = utcnow()
    db.session.commit()
    return user


def request_email_change(user: User, new_email: str, password: str) -> str:
    """Check the password and mail a confirmation link to the new address; returns it."""
    if not verify_password(user.password_hash, password):
        raise users.AccountError("Your password is not correct.", "password")
    email = users.normalize_email(new_email)
    if email == user.email:
        raise users.AccountError("That is already your email.", "email")
    if users.find_by_email(email):
        raise users.AccountError("An account with this email already exists.", "email")
    url = links.external_url("auth.confirm_email_change",
                             token=links.make_token(links.CHANGE, user, email))
    mail.send(email, "Confirm your new email for Daydream",
              f"Open this link to make {email} the login of your Daydream account:\n{url}\n\n"
              "Until you do, nothing changes. If you did not ask for this, ignore this message.\n")
    return email


def confirm_email_change(token: str, keep_login: int | None = None) -> tuple[User, int]:
    """Apply an email change from the link mailed to the new address.

    Every other login of the account ends (``keep_login`` stays); returns the user and how
    many logins ended.
    """
    target = links.read_token(links.CHANGE, token)
    user, email = target.user, users.normalize_email(target.email or "")
    taken = users.find_by_email(email)
    if taken is not None and taken.id != user.id:
        raise links.LinkError("Another account took that address meanwhile.")
    old = user.email
    user.email = email
    user.email_verified_at = utcnow()
    db.session.commit()
    try:
        mail.send(old, "Your Daydream email was changed",
                  f"The login of your Daydream account is now {email}.\n"
                  "If this was not you, contact the operator of this server.\n")
    except mail.MailError:
        pass  # the change is done; the notice to the old address is a courtesy
    return user, logins.end_all(user, "email changed", keep_id=keep_login)
