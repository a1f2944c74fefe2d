"""Admin views shared by every page: the staff check, and the dashboard."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from daydream.admin import bp
from daydream.extensions import db
from daydream.models import User
from daydream.services import dashboard


@bp.before_request
@login_required
def require_staff():
    """Only staff may use the admin panel."""
    if not current_user.is_staff:
        abort(403)


def user_or_404(user_id: int) -> User:
    """The user with this id, or a 404 page."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, "No such user.")
    return user


@bp.get("/")
def index():
    """The dashboard: headline counts and charts of the last day and week."""
    return render_template("admin/dashboard.html", section="dashboard",
                           counts=dashboard.counts(), charts=dashboard.charts())
