"""The studio: ask for images, watch them form, find them in the session timeline."""

from flask import Blueprint

bp = Blueprint("studio", __name__, template_folder="templates")

from daydream.studio import routes  # noqa: E402,F401  (registers the views)
