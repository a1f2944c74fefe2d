"""Account archives, as staff see them."""

from __future__ import annotations

from flask import current_app, render_template

from daydream.admin import bp
from daydream.services import account_archive, archive_jobs


@bp.get("/archives")
def archives():
    """Everyone's recent archives: who, state, progress, size, expiry."""
    archive_jobs.resume(current_app._get_current_object())
    return render_template("admin/archives.html", section="archives",
                           archives=account_archive.listing())
