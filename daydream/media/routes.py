"""Image files: full PNGs (metadata intact) and timeline thumbnails."""

from __future__ import annotations

from flask import abort, request, send_file
from flask_login import current_user
from sqlalchemy import select

from daydream.extensions import db
from daydream.media import bp
from daydream.models import Image
from daydream.services import archives, storage


def _visible_image(image_uuid: str) -> Image:
    image = db.session.scalar(select(Image).where(Image.uuid == image_uuid))
    if image is None:
        abort(404, "No such image.")
    owner = current_user.is_authenticated and (
        image.task.user_id == current_user.id or current_user.is_staff)
    if not (owner or image.public):
        abort(404, "No such image.")  # 404, not 403: do not confirm it exists
    return image


@bp.get("/media/<image_uuid>.png")
def image_png(image_uuid: str):
    """The full PNG; ``?download=1`` saves it under a descriptive name."""
    image = _visible_image(image_uuid)
    return send_file(storage.absolute(image.path), mimetype="image/png",
                     as_attachment=bool(request.args.get("download")),
                     download_name=archives.download_name(image), max_age=3600)


@bp.get("/media/<image_uuid>.thumb.webp")
def image_thumb(image_uuid: str):
    """The timeline thumbnail."""
    image = _visible_image(image_uuid)
    return send_file(storage.absolute(image.thumb_path), mimetype="image/webp", max_age=3600)
