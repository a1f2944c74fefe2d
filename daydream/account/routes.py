"""Account views: an overview tab and a settings tab with three forms."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from daydream.account import bp
from daydream.account.forms import (
    ApiKeyForm,
    DeleteAccountForm,
    DeleteImagesForm,
    EmailForm,
    PasswordForm,
    ProfileForm,
    VoucherForm,
)
from daydream.services import (
    account_archive,
    allowance,
    apikeys,
    archive_jobs,
    ledger,
    logins,
    mail,
    recovery_mail,
    users,
)


@bp.before_request
@login_required
def require_login():
    """Every account page needs a logged-in user."""


@bp.before_app_request
def refill_allowance():
    """Top up the daily allowance on a signed-in person's first request of the day."""
    if request.endpoint in (None, "static"):
        return
    if current_user.is_authenticated and allowance.due(current_user):
        allowance.refill(current_user._get_current_object())


def _render(tab: str, status: int = 200, **forms):
    forms.setdefault("profile_form", ProfileForm(obj=current_user, prefix="profile"))
    forms.setdefault("email_form", EmailForm(prefix="email"))
    forms.setdefault("password_form", PasswordForm(prefix="password"))
    forms.setdefault("key_form", ApiKeyForm(prefix="key"))
    forms.setdefault("images_form", DeleteImagesForm(prefix="images"))
    forms.setdefault("account_form", DeleteAccountForm(prefix="account"))
    forms.setdefault("voucher_form", VoucherForm(prefix="voucher"))
    entries = None
    if tab == "credits":
        entries = ledger.page(current_user.id, request.args.get("page", 1, type=int) or 1)
    api_keys = apikeys.list_keys(current_user) if tab == "keys" else []
    if tab == "keys" and "new_api_key" in session:
        forms["new_key"] = session.pop("new_api_key")  # shown once, then gone
    sessions = logins.active(current_user) if tab == "sessions" else []
    archive = image_total = None
    if tab == "archive":
        archive_jobs.resume(current_app._get_current_object())
        archive = account_archive.current(current_user.id)
        image_total = account_archive.image_count(current_user.id)
    return render_template("account/index.html", tab=tab, ledger=entries, api_keys=api_keys,
                           sessions=sessions, archive=archive, image_total=image_total,
                           **forms), status


@bp.get("/")
def index():
    """Show the account overview (or the settings tab with ``?tab=settings``)."""
    tab = request.args.get("tab", "overview")
    if tab not in {"overview", "settings", "credits", "keys", "sessions", "data", "archive"}:
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
    """Ask to change the login email: a link goes to the new address to confirm it."""
    form = EmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            new = recovery_mail.request_email_change(current_user, form.email.data,
                                                     form.password.data)
        except users.AccountError as error:
            target = form.password if error.field == "password" else form.email
            target.errors.append(str(error))
        except mail.MailError:
            form.email.errors.append("The mail server is not answering. Try again later.")
        else:
            flash(f"We sent a link to {new}. Your email changes when you open it.", "success")
            return redirect(url_for("account.index", tab="settings"))
    return _render("settings", 400, email_form=form)


@bp.post("/verify")
def resend_verification():
    """Mail the link that confirms the current address again."""
    if current_user.email_verified_at is not None:
        flash("Your email is already confirmed.", "info")
    else:
        try:
            recovery_mail.send_verification(current_user)
        except mail.MailError:
            flash("The mail server is not answering. Try again later.", "error")
        else:
            flash(f"We sent a confirmation link to {current_user.email}.", "success")
    return redirect(url_for("account.index", tab="settings"))


@bp.post("/password")
def password():
    """Change the password; other logins end, this one continues."""
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            ended = users.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except users.AccountError as error:
            getattr(form, error.field or "new_password").errors.append(str(error))
        else:
            flash(f"Password changed. {logins.ended_note(ended)}", "success")
            return redirect(url_for("account.index", tab="settings"))
    return _render("settings", 400, password_form=form)
