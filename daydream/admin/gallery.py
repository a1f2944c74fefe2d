"""Admin views for gallery curation: hide, restore and feature shared images."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from daydream.admin import bp
from daydream.admin.forms import ConfirmForm
from daydream.services import access
from daydream.services import gallery as gallery_service

ACTIONS = {"hide": "hidden from the gallery", "restore": "back in the gallery",
           "feature": "featured on the landing page", "unfeature": "no longer featured"}


@bp.get("/gallery")
def gallery():
    """Shared images including hidden ones, with the curation actions."""
    show = request.args.get("show", "all")
    listing = gallery_service.curation_page(request.args.get("page", 1, type=int) or 1, show)
    return render_template("admin/gallery.html", section="gallery", listing=listing,
                           show=show, confirm_form=ConfirmForm())


@bp.post("/images/<image_uuid>/<any(hide, restore, feature, unfeature):action>")
def curate_image(image_uuid: str, action: str):
    """Hide, restore, feature or unfeature one image (audited)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    image = access.find_image(current_user, image_uuid)
    if image is None or not access.can_hide(current_user, image):
        abort(404, "No such image.")
    gallery_service.curate(image, action, current_user)
    flash(f"The image is {ACTIONS[action]}.", "success")
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else url_for("admin.gallery")), 303
