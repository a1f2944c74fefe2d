"""The archive tab: ask for a ZIP of all my images, watch it build, download it."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from daydream.account import bp
from daydream.extensions import db
from daydream.models import Archive
from daydream.services import account_archive, archive_jobs


def _mine_or_404(archive_uuid: str) -> Archive:
    archive = db.session.scalar(select(Archive).where(Archive.uuid == archive_uuid))
    if archive is None or (archive.user_id != current_user.id and not current_user.is_staff):
        abort(404, "No such archive.")
    return archive


@bp.post("/archive")
def request_archive():
    """Start building an archive of all my images (one at a time)."""
    try:
        archive = account_archive.request_archive(current_user._get_current_object())
    except account_archive.ArchiveError as error:
        flash(str(error), "error")
    else:
        archive_jobs.dispatch(current_app._get_current_object(), archive.id)
        flash("Your archive is being built. You may leave this page; it will wait for you.",
              "success")
    return redirect(url_for("account.index", tab="archive")), 303


@bp.get("/archive/<archive_uuid>")
def archive_status(archive_uuid: str):
    """The archive's state and progress, as JSON (the page polls it)."""
    return jsonify(account_archive.view(_mine_or_404(archive_uuid)))


@bp.get("/archive/<archive_uuid>.zip")
def archive_download(archive_uuid: str):
    """Download a finished archive."""
    archive = _mine_or_404(archive_uuid)
    path = account_archive.file_of(archive)
    if path is None:
        abort(404, "This archive is not ready, or it has expired.")
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"daydream-images-{archive.created_at:%Y%m%d}.zip")
