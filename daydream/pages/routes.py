"""Views for the public pages."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from daydream.pages import bp
from daydream.services import access
from daydream.services import gallery as gallery_service


@bp.get("/")
def landing():
    """The landing page: what Daydream is, featured images, plans, a call to action."""
    return render_template("pages/landing.html", featured=gallery_service.featured(6))


@bp.get("/docs", strict_slashes=False)
def docs():
    """How to use the studio, credits and the API."""
    return render_template("pages/docs.html")


@bp.get("/gallery")
def gallery():
    """Images people chose to share (and staff imported), with text search and pages."""
    query = request.args.get("q", "").strip()[:100]
    listing = gallery_service.public_images(request.args.get("page", 1, type=int) or 1, query)
    return render_template("pages/gallery.html", listing=listing, query=query)


@bp.get("/gallery/<image_uuid>")
def gallery_image(image_uuid: str):
    """One gallery image with its settings and "try this prompt"."""
    image = access.find_image(current_user, image_uuid)
    if image is None or not access.is_public(image):
        abort(404, "No such image in the gallery.")
    return render_template("pages/gallery_image.html", image=image, task=image.task,
                           try_url=gallery_service.try_prompt_url(image))


@bp.post("/gallery/<image_uuid>/prompt")
@login_required
def prompt_privacy(image_uuid: str):
    """The owner hides (``hidden=1``) or shows the prompt of their shared image."""
    image = access.find_image(current_user, image_uuid)
    if image is None or not access.can_share(current_user, image):
        abort(404, "No such image.")
    hidden = request.form.get("hidden", "1") == "1"
    gallery_service.set_prompt_hidden(image, hidden)
    flash("Your prompt is now private." if hidden else "Your prompt is shown again.", "success")
    return redirect(url_for("pages.gallery_image", image_uuid=image.uuid)), 303


@bp.get("/terms")
def terms():
    """Terms of use."""
    return render_template("pages/terms.html")
