"""Views for registering, logging in and out."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from daydream.auth import bp
from daydream.auth.forms import LoginForm, RegisterForm
from daydream.services import logins, ratelimit, signup, users


def safe_next(target: str | None) -> str | None:
    """Accept only a same-site path for the post-login redirect (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account; the answer never tells whether the email already had one."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    if signup.policy() == "closed":
        return render_template("auth/closed.html"), 403
    form = RegisterForm()
    if form.validate_on_submit():
        wait = ratelimit.signup_wait(request.remote_addr)
        if wait:
            return _throttled("auth/register.html", form, "Too many sign-ups from your "
                              f"network. Try again in {_minutes(wait)}.", wait)
        try:
            user = signup.register(form.email.data, form.password.data, form.username.data,
                                   form.voucher.data)
        except users.AccountError as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            _send_signup_mail(user, form.email.data)
            flash(SIGNED_UP, "success")
            return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template("auth/register.html", form=form), status


# The same words whether the address was new or taken: sign-up reveals no accounts.
SIGNED_UP = ("If this address could sign up, your account is ready: log in with the password "
             "you just chose. If you already had an account, log in with your usual password.")


def _minutes(seconds: int) -> str:
    """A wait in words."""
    return f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"


def _throttled(template: str, form, message: str, wait: int):
    """The form again with a 429, a message and Retry-After."""
    flash(message, "error")
    return render_template(template, form=form), 429, {"Retry-After": str(wait)}


def _send_signup_mail(user, email: str) -> None:
    """Mail the new account's confirmation, or tell a taken address's owner of the attempt.

    One mail either way, so the answer's timing says nothing about the address; a mail
    failure is logged, never shown (no account oracle).
    """
    from daydream.services import mail, recovery_mail

    try:
        if user is not None:
            recovery_mail.send_verification(user)
        else:
            recovery_mail.send_signup_notice(email)
    except mail.MailError:
        current_app.logger.warning("could not mail the sign-up message (%s)",
                                   "confirmation" if user is not None else "taken address")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with email and password; one generic message for every failure."""
    if current_user.is_authenticated:
        return redirect(url_for("studio.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        wait = ratelimit.login_wait(users.normalize_email(form.email.data), request.remote_addr)
        if wait:
            return _throttled("auth/login.html", form, "Too many login attempts. Try again "
                              f"in {_minutes(wait)}.", wait)
        try:
            user = users.authenticate(form.email.data, form.password.data)
        except users.AccountDisabled as error:
            flash(str(error), "error")
            return render_template("auth/login.html", form=form), 403
        if user is None:
            flash("Wrong email or password.", "error")
            status = 401
        else:
            logins.log_in(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("studio.index"))
    elif form.errors:
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End this login on the server, cookies and sockets included (POST only)."""
    logins.end_current(current_user)
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("pages.landing"))
