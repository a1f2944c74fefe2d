"""Views for the public pages."""

from flask import render_template, request

from daydream.pages import bp
from daydream.services import gallery as gallery_service


@bp.get("/")
def landing():
    """The landing page: what Daydream is, pricing, a call to action."""
    return render_template("pages/landing.html")


@bp.get("/docs")
def docs():
    """How to use the studio, credits and the API."""
    return render_template("pages/docs.html")


@bp.get("/gallery")
def gallery():
    """Images people chose to share."""
    listing = gallery_service.public_images(request.args.get("page", 1, type=int) or 1)
    return render_template("pages/gallery.html", listing=listing)


@bp.get("/terms")
def terms():
    """Terms of use."""
    return render_template("pages/terms.html")
