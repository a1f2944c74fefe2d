"""Staff pages for voucher codes: create (the code is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime, time

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from daydream.admin import bp
from daydream.admin.forms import ConfirmForm, VoucherForm
from daydream.extensions import db
from daydream.models import Voucher
from daydream.services import vouchers


def _page(form: VoucherForm, status: int = 200, new_code: str | None = None):
    return render_template("admin/vouchers.html", form=form, confirm_form=ConfirmForm(),
                           vouchers=vouchers.listing(), new_code=new_code), status


@bp.get("/vouchers")
def voucher_list():
    """Vouchers with their uses, and a form to create one."""
    return _page(VoucherForm())


@bp.post("/vouchers")
def voucher_create():
    """Create a voucher and show its code once."""
    form = VoucherForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    expires = datetime.combine(form.expires_on.data, time.max) if form.expires_on.data else None
    try:
        voucher, code = vouchers.create(current_user, form.amount.data, form.max_uses.data,
                                        expires, form.note.data)
    except vouchers.VoucherError as error:
        form.amount.errors.append(str(error))
        return _page(form, 400)
    flash(f"Voucher …{voucher.hint} created. Copy the code now: it is shown only once.",
          "success")
    return _page(VoucherForm(formdata=None), 201, new_code=code)


@bp.post("/vouchers/<int:voucher_id>/revoke")
def voucher_revoke(voucher_id: int):
    """Stop a voucher from being redeemed again."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None:
        abort(404, "No such voucher.")
    vouchers.revoke(current_user, voucher)
    flash(f"Voucher …{voucher.hint} can no longer be redeemed.", "success")
    return redirect(url_for("admin.voucher_list")), 303
