"""Public pages: landing, documentation, gallery, terms."""

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="templates")

from daydream.pages import routes  # noqa: E402,F401  (registers the views)
