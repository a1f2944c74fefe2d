"""AUTOMATIC1111-compatible endpoints (``/sdapi/v1``) for existing Stable Diffusion clients."""

from flask import Blueprint

bp = Blueprint("sdapi", __name__)

from daydream.sdapi import routes  # noqa: E402,F401  (registers the views)
