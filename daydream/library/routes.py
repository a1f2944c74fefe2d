"""Library views: the grid, one image's page, favourites, sharing, ZIP and delete."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from daydream.errors import api_error
from daydream.library import bp
from daydream.models import Image
from daydream.services import archives, gallery, library


@bp.before_request
@login_required
def require_login():
    """The library is for logged-in users."""


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _filters() -> library.LibraryFilter:
    try:
        return library.parse_filter(request.args)
    except library.LibraryQueryError as error:
        abort(400, f"Those filters do not work: {error}.")


def _image_or_404(image_uuid: str) -> Image:
    image = library.owned_image(current_user, image_uuid)
    if image is None:
        abort(404, "No such image among yours.")
    return image


def _back(default: str):
    """Redirect to the page the form came from when it is ours (post/redirect/get)."""
    target = request.form.get("next", "")
    if target.startswith("/library") and not target.startswith("//"):
        return redirect(target, code=303)
    return redirect(default, code=303)


@bp.get("/")
def index():
    """Every image of the account, newest first, filtered, a page at a time."""
    filters = _filters()
    try:
        before = library.parse_cursor(request.args.get("before"))
    except library.LibraryQueryError as error:
        abort(400, str(error))
    listing = library.page(current_user, filters, before)
    return render_template(
        "library/index.html", listing=listing, filters=filters, choices=library.choices(
            current_user), total=library.count(current_user), first_page=before is None,
        items=[library.image_details(image) for image in listing.images])


@bp.get("/images/<image_uuid>")
def image(image_uuid: str):
    """One image with its settings and the newer/older ones (the lightbox without script)."""
    filters = _filters()
    shown = _image_or_404(image_uuid)
    newer, older = library.neighbours(current_user, shown, filters)
    return render_template("library/image.html", image=shown, newer=newer, older=older,
                           filters=filters, item=library.image_details(shown))


@bp.post("/images/<image_uuid>/favourite")
def favourite(image_uuid: str):
    """Mark (``favourite=1``) or unmark (``favourite=0``) an image as a favourite."""
    shown = _image_or_404(image_uuid)
    library.set_favourite(shown, request.form.get("favourite", "1") not in ("0", "false", ""))
    if _wants_json():
        return jsonify(library.image_details(shown))
    return _back(url_for("library.image", image_uuid=shown.uuid))


@bp.post("/images/<image_uuid>/share")
def share(image_uuid: str):
    """Share an image to the public gallery (``shared=0`` takes it back)."""
    shown = _image_or_404(image_uuid)
    gallery.set_shared(shown, request.form.get("shared", "1") not in ("0", "false", ""))
    if _wants_json():
        return jsonify(library.image_details(shown))
    flash("Shared to the gallery." if shown.public else "No longer in the gallery.", "success")
    return _back(url_for("library.image", image_uuid=shown.uuid))


@bp.post("/images/<image_uuid>/delete")
def delete(image_uuid: str):
    """Delete one image (file and row)."""
    library.delete_images([_image_or_404(image_uuid)])
    if _wants_json():
        return jsonify(deleted=1)
    flash("Image deleted.", "success")
    return _back(url_for("library.index"))


@bp.post("/selection")
def selection():
    """Act on the ticked images: ``action=zip`` downloads them, ``action=delete`` deletes."""
    chosen = library.owned_images(current_user, request.form.getlist("image"))
    action = request.form.get("action")
    if action not in ("zip", "delete"):
        return api_error(400, "invalid_action", "Choose download or delete.")
    if not chosen:
        flash("Tick at least one image first.", "error")
        return _back(url_for("library.index"))
    if action == "zip":
        response = archives.archive_response(
            archives.images_archive(chosen, f"daydream-library-{len(chosen)}.zip"))
        if response is not None:
            return response
        flash("Those images' files are gone.", "error")
        return _back(url_for("library.index"))
    removed = library.delete_images(chosen)
    flash(f"Deleted {removed} image{'' if removed == 1 else 's'}.", "success")
    return _back(url_for("library.index"))
