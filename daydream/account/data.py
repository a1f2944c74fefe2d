"""The "Your data" tab: export everything, delete every image, delete the account."""

from __future__ import annotations

from flask import Response, flash, redirect, url_for
from flask_login import current_user, logout_user

from daydream.account import bp
from daydream.account.forms import DeleteAccountForm, DeleteImagesForm
from daydream.account.routes import _render
from daydream.services import accounts
from daydream.services.users import AccountError


@bp.get("/export")
def export():
    """Download a JSON file of everything kept about the account (the PNGs: the archive)."""
    name, document = accounts.export_data(current_user)
    response = Response(document, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/images/delete")
def delete_images():
    """Delete every finished image and task of the account (password confirmed)."""
    form = DeleteImagesForm(prefix="images")
    if form.validate_on_submit():
        try:
            removed = accounts.delete_my_images(current_user, form.password.data)
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            flash(f"Deleted {removed} image{'' if removed == 1 else 's'} and their files.",
                  "success")
            return redirect(url_for("account.index", tab="data"))
    return _render("data", 400, images_form=form)


@bp.post("/delete")
def delete_account():
    """Delete the account (password confirmed); the ledger stays, anonymised."""
    form = DeleteAccountForm(prefix="account")
    if form.validate_on_submit():
        try:
            accounts.delete_account(current_user, form.password.data)
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            logout_user()
            flash("Your account and everything in it were deleted. Goodbye!", "info")
            return redirect(url_for("pages.landing"))
    return _render("data", 400, account_form=form)
