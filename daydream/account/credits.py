"""The credits tab: redeem a voucher, read the ledger, download it as CSV."""

from __future__ import annotations

from flask import Response, flash, redirect, stream_with_context, url_for
from flask_login import current_user

from daydream.account import bp
from daydream.account.forms import VoucherForm
from daydream.account.routes import _render
from daydream.services import ledger, vouchers


@bp.post("/voucher")
def redeem_voucher():
    """Redeem a voucher code for credits."""
    form = VoucherForm(prefix="voucher")
    if not form.validate_on_submit():
        return _render("credits", 400, voucher_form=form)
    try:
        vouchers.throttle(current_user.id)
        added = vouchers.redeem(current_user.id, form.code.data)
    except vouchers.TooManyAttempts as error:
        form.code.errors.append(str(error))
        return _render("credits", 429, voucher_form=form)
    except vouchers.VoucherError as error:
        form.code.errors.append(str(error))
        return _render("credits", 400, voucher_form=form)
    flash(f"Voucher redeemed: {added} credits added.", "success")
    return redirect(url_for("account.index", tab="credits")), 303


@bp.get("/ledger.csv")
def ledger_csv():
    """Download my whole ledger as CSV."""
    return csv_response(current_user.id, f"daydream-ledger-{current_user.uuid}.csv")


def csv_response(user_id: int, filename: str) -> Response:
    """A streamed CSV download of one user's ledger (also used by the admin pages)."""
    return Response(
        stream_with_context(ledger.csv_lines(user_id)), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
