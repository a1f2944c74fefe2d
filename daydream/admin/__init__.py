"""The staff admin panel: dashboard, users, queue, models, vouchers, audit log, gallery,
archives."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

from daydream.admin import archives, audit, gallery, models, queue, routes, users, vouchers  # noqa: E402,F401,I001
