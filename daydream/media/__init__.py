"""Serving generated images to their owner, staff, or everyone once shared."""

from flask import Blueprint

bp = Blueprint("media", __name__)

from daydream.media import routes  # noqa: E402,F401  (registers the views)
