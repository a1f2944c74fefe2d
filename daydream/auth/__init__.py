"""Registration, login and logout."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from daydream.auth import recovery, routes  # noqa: E402,F401  (registers the views)
