"""The audit log page."""

from __future__ import annotations

from flask import render_template, request

from daydream.admin import bp
from daydream.services import audit


@bp.get("/audit")
def audit_log():
    """Every staff action, newest first, filterable by action."""
    action = request.args.get("action", "").strip()[:40]
    listing = audit.entries(request.args.get("page", 1, type=int) or 1, action=action)
    return render_template("admin/audit.html", section="audit", listing=listing,
                           action=action, actions=audit.actions())
