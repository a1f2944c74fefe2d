"""Account views: an overview tab and a settings tab with three forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from daydream.account import bp
from daydream.account.forms import ApiKeyForm, EmailForm, PasswordForm, ProfileForm
from daydream.services import apikeys, credits, users


@bp.before_request
@login_required
def require_login():
    """Every account page needs a logged-in user."""


def _render(tab: str, status: int = 200, **forms):
    forms.setdefault("profile_form", ProfileForm(obj=current_user, prefix="profile"))
    forms.setdefault("email_form", EmailForm(prefix="email"))
    forms.setdefault("password_form", PasswordForm(prefix="password"))
    forms.setdefault("key_form", ApiKeyForm(prefix="key"))
    ledger = credits.history(current_user.id, limit=20)
    api_keys = apikeys.list_keys(current_user) if tab == "keys" else []
    return render_template("account/index.html", tab=tab, ledger=ledger, api_keys=api_keys,
                           **forms), status


@bp.get("/")
def index():
    """Show the account overview (or the settings tab with ``?tab=settings``)."""
    tab = request.args.get("tab", "overview")
    if tab not in {"overview", "settings", "credits", "keys"}:
        tab = "overview"
    return _render(tab)


@bp.post("/profile")
def profile():
    """Save the profile fields."""
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _render("settings", 400, profile_form=form)
    users.update_profile(
        current_user,
        username=form.username.data,
        first_name=form.first_name.data,
        last_name=form.last_name.data,
        mobile=form.mobile.data,
        cancel_abandoned=form.cancel_abandoned.data,
    )
    flash("Profile saved.", "success")
    return redirect(url_for("account.index", tab="settings"))


@bp.post("/email")
def email():
    """Change the login email."""
    form = EmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            users.change_email(current_user, form.email.data, form.password.data)
        except users.AccountError as error:
            target = form.password if error.field == "password" else form.email
            target.errors.append(str(error))
        else:
            flash("Email changed.", "success")
            return redirect(url_for("account.index", tab="settings"))
    return _render("settings", 400, email_form=form)


@bp.post("/password")
def password():
    """Change the password; other sessions end, this one continues."""
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            users.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except users.AccountError as error:
            getattr(form, error.field or "new_password").errors.append(str(error))
        else:
            # The session id rotated; log this browser in again under the new one.
            login_user(current_user._get_current_object())
            flash("Password changed.", "success")
            return redirect(url_for("account.index", tab="settings"))
    return _render("settings", 400, password_form=form)
