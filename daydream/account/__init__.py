"""The account page: overview, profile and security settings, credit history, API keys."""

from flask import Blueprint

bp = Blueprint("account", __name__, template_folder="templates")

from daydream.account import archive, credits, data, keys, routes, sessions  # noqa: E402,F401,I001
