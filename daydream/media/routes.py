"""Image files: full PNGs (metadata intact) and timeline thumbnails."""

from __future__ import annotations

from flask import abort, request, send_file
from flask_login import current_user

from daydream.media import bp
from daydream.models import Image
from daydream.services import access, archives, storage


def _visible_image(image_uuid: str) -> Image:
    image = access.find_image(current_user, image_uuid)
    if image is None:
        abort(404, "No such image.")  # 404, not 403: do not confirm it exists
    return image


def _file_of(relative: str | None):
    # A row whose file is gone (deleted by hand, a shared media folder not yet in sync) is
    # a missing image to the browser, not a server error.
    path = storage.absolute(relative) if relative else None
    if path is None or not path.is_file():
        abort(404, "This image's file is missing.")
    return path


def _max_age(image: Image) -> int | None:
    # Only public images may sit in shared caches; the rest get "private, no-store" from
    # daydream.security, so a cache in front of the site never hands them to strangers.
    return 3600 if access.is_public(image) else None


@bp.get("/media/<image_uuid>.png")
def image_png(image_uuid: str):
    """The full PNG; ``?download=1`` saves it under a descriptive name."""
    image = _visible_image(image_uuid)
    return send_file(_file_of(image.path), mimetype="image/png",
                     as_attachment=bool(request.args.get("download")),
                     download_name=archives.download_name(image), max_age=_max_age(image))


@bp.get("/media/<image_uuid>.thumb.webp")
def image_thumb(image_uuid: str):
    """The timeline thumbnail."""
    image = _visible_image(image_uuid)
    return send_file(_file_of(image.thumb_path), mimetype="image/webp",
                     max_age=_max_age(image))
