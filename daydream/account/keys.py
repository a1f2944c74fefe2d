"""The API keys tab: create a key (shown once in full), list keys, revoke one."""

from __future__ import annotations

from flask import flash, redirect, session, url_for
from flask_login import current_user

from daydream.account import bp
from daydream.account.forms import ApiKeyForm
from daydream.account.routes import _render
from daydream.services import apikeys


@bp.post("/keys")
def create_key():
    """Create a named key and show it once; only its hash is kept."""
    form = ApiKeyForm(prefix="key")
    if not form.validate_on_submit():
        return _render("keys", 400, key_form=form)
    try:
        key, token = apikeys.create_key(current_user, form.name.data)
    except apikeys.ApiKeyError as error:
        form.name.errors.append(str(error))
        return _render("keys", 400, key_form=form)
    # Post/redirect/get, so a reload cannot make a second key. The key rides in the signed
    # session cookie (never a URL, a flash or a log) and the next page takes it out: shown once.
    session["new_api_key"] = {"name": key.name, "token": token}
    return redirect(url_for("account.index", tab="keys"), code=303)


@bp.post("/keys/<int:key_id>/revoke")
def revoke_key(key_id: int):
    """Revoke one of the user's keys; it stops working at once."""
    if apikeys.revoke(current_user, key_id):
        flash("The key was revoked; it no longer works.", "success")
    else:
        flash("No such key.", "error")
    return redirect(url_for("account.index", tab="keys"))
