"""The native HTTP API (``/api/v1``): API keys, asynchronous tasks, an OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, template_folder="templates")

from daydream.api import library, routes  # noqa: E402,F401  (registers the views)
