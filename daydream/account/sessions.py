"""Account views for your logins: end one, or end all the others (after your password)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from daydream.account import bp
from daydream.services import logins, ratelimit
from daydream.services.passwords import verify_password


def _back():
    return redirect(url_for("account.index", tab="sessions")), 303


def _password_confirmed() -> bool:
    """Whether the form carries the account's password (throttled like a login)."""
    if ratelimit.reauth_wait(current_user.id):
        flash("Too many password attempts. Try again later.", "error")
        return False
    if not verify_password(current_user.password_hash, request.form.get("password", "")):
        flash("Enter your current password to end sessions.", "error")
        return False
    return True


@bp.post("/sessions/<int:login_id>/end")
def end_session(login_id: int):
    """End one of your other logins (log out that browser)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    if login_id == current_user.login_session_id:
        flash("That is this browser: use Log out to end it.", "error")
        return _back()
    row = logins.own_live(current_user, login_id)
    if row is None:
        abort(404, "No such session.")
    if _password_confirmed():
        logins.end(row, "ended by user")
        flash("That session has ended; the browser using it is logged out.", "success")
    return _back()


@bp.post("/sessions/end-others")
def end_other_sessions():
    """End every login of yours except this one."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    if _password_confirmed():
        ended = logins.end_all(current_user, "ended by user",
                               keep_id=current_user.login_session_id)
        flash(f"Ended {ended} other session{'' if ended == 1 else 's'}; this one stays logged "
              "in.", "success")
    return _back()
