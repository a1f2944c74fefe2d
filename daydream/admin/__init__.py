"""The staff admin panel: users, credits, the queue."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

from daydream.admin import routes  # noqa: E402,F401  (registers the views)
