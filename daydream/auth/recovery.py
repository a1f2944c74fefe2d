"""Views for links that arrive by mail: password reset, email verification and change."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from daydream.auth import bp
from daydream.auth.forms import ForgotForm, ResetForm
from daydream.services import links, logins, mail, ratelimit, recovery_mail, users


def _link_problem(error: links.LinkError):
    return render_template("auth/link_problem.html", message=str(error)), 400


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link; the answer never says whether the address has an account."""
    form = ForgotForm()
    if form.validate_on_submit():
        email = users.normalize_email(form.email.data)
        wait = ratelimit.login_wait(f"reset:{email}", request.remote_addr)
        if wait:
            flash(f"Too many requests. Try again in {wait} seconds.", "error")
            return render_template("auth/forgot.html", form=form), 429, {"Retry-After": str(wait)}
        try:
            recovery_mail.send_reset(email)
        except mail.MailError:
            # Only a known address gets mail, so a failure shown here would reveal it.
            current_app.logger.warning("could not mail a password reset link")
        flash("If an account uses that address, a reset link is on its way. "
              "It works once and expires soon.", "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/forgot.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link (works once, then expires)."""
    try:
        links.read_token(links.RESET, token)
    except links.LinkError as error:
        return _link_problem(error)
    form = ResetForm()
    if form.validate_on_submit():
        try:
            recovery_mail.reset_password(token, form.password.data)
        except links.LinkError as error:
            return _link_problem(error)
        except users.AccountError as error:
            form.password.errors.append(str(error))
        else:
            flash("Password changed. Log in with the new one.", "success")
            return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset.html", form=form), 400 if form.errors else 200


@bp.get("/verify/<token>")
def verify_email(token: str):
    """Confirm the account's email address from the mailed link."""
    try:
        user = recovery_mail.verify_email(token)
    except links.LinkError as error:
        return _link_problem(error)
    flash(f"Thank you: {user.email} is confirmed.", "success")
    return redirect(url_for("account.index"), code=303)


@bp.get("/email/<token>")
def confirm_email_change(token: str):
    """Make the new address the login, from the link mailed to that address."""
    try:
        keep = current_user.login_session_id if current_user.is_authenticated else None
        user, ended = recovery_mail.confirm_email_change(token, keep_login=keep)
    except links.LinkError as error:
        return _link_problem(error)
    flash(f"Your login email is now {user.email}. {logins.ended_note(ended)}", "success")
    return redirect(url_for("account.index", tab="settings"), code=303)
