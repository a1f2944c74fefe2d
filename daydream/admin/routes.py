"""Admin views: staff only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from daydream.admin import bp
from daydream.admin.forms import ConfirmForm, CreditsForm
from daydream.extensions import db
from daydream.models import User
from daydream.services import admin as admin_service
from daydream.services.credits import InsufficientCredits


@bp.before_request
@login_required
def require_staff():
    """Only staff may use the admin panel."""
    if not current_user.is_staff:
        abort(403)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, "No such user.")
    return user


@bp.get("/")
def index():
    """List users with their credits and state, with search and paging."""
    query = request.args.get("q", "").strip()[:100]
    page = request.args.get("page", 1, type=int) or 1
    listing = admin_service.list_users(query, max(page, 1))
    return render_template(
        "admin/index.html", listing=listing, query=query, stats=admin_service.stats(),
        queue=admin_service.queue_overview(),
        credits_form=CreditsForm(), confirm_form=ConfirmForm(),
    )


@bp.post("/users/<int:user_id>/credits")
def credits(user_id: int):
    """Grant or remove credits."""
    user = _user_or_404(user_id)
    form = CreditsForm()
    if not form.validate_on_submit():
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("admin.index")), 303
    try:
        admin_service.adjust_credits(user, form.amount.data, current_user, form.note.data)
    except InsufficientCredits as error:
        flash(f"{user.email}: {error}", "error")
    else:
        flash(f"{user.email} now has {user.tokens} credits.", "success")
    return redirect(url_for("admin.index", q=request.args.get("q", ""))), 303


@bp.post("/users/<int:user_id>/toggle")
def toggle(user_id: int):
    """Disable or re-enable an account."""
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        admin_service.toggle_active(user, current_user)
    except admin_service.AdminError as error:
        flash(str(error), "error")
    else:
        flash(f"{user.email} is now {'active' if user.active else 'disabled'}.", "success")
    return redirect(url_for("admin.index")), 303


@bp.post("/users/<int:user_id>/delete")
def delete(user_id: int):
    """Delete an account with its tasks and images."""
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    email = user.email
    try:
        admin_service.delete_user(user, current_user)
    except admin_service.AdminError as error:
        flash(str(error), "error")
    else:
        flash(f"Deleted {email}.", "success")
    return redirect(url_for("admin.index")), 303


@bp.post("/tasks/<task_uuid>/cancel")
def cancel_task(task_uuid: str):
    """Cancel anyone's queued or running task (refunded like the owner's own cancel)."""
    from daydream.services import tasks

    if not ConfirmForm().validate_on_submit():
        abort(400)
    task = tasks.find_for(current_user, task_uuid)
    if task is None:
        abort(404, "No such task.")
    try:
        tasks.cancel(task)
    except tasks.NotCancellable as error:
        flash(str(error), "error")
    else:
        flash(f"Task {task.uuid} of {task.user.email} is being cancelled.", "success")
    return redirect(url_for("admin.index")), 303


@bp.post("/images/<image_uuid>/hide")
def hide_image(image_uuid: str):
    """Take an image out of the public gallery."""
    from daydream.services import gallery

    if not ConfirmForm().validate_on_submit():
        abort(400)
    image = gallery.find_image(image_uuid)
    if image is None:
        abort(404, "No such image.")
    gallery.set_shared(image, False)
    flash("The image was removed from the gallery.", "success")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("pages.gallery")), 303
