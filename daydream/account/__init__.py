"""The account page: overview, profile and security settings, credit history, API keys."""

from flask import Blueprint

bp = Blueprint("account", __name__, template_folder="templates")

from daydream.account import keys, routes  # noqa: E402,F401  (registers the views)
