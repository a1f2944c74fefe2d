"""The library: every image of the account across sessions, with a lightbox."""

from flask import Blueprint

bp = Blueprint("library", __name__, template_folder="templates")

from daydream.library import routes  # noqa: E402,F401  (registers the views)
