"""Error handlers: HTML pages for browsers, one JSON shape for the APIs."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

API_PREFIXES = ("/api/", "/sdapi/")

_FRIENDLY = {
    400: "The request could not be understood.",
    401: "Please log in first.",
    403: "You do not have permission to see this page.",
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    413: "The upload is too large.",
    429: "Too many requests; slow down a little.",
    500: "Something went wrong on our side. It has been logged.",
}


def is_api_request() -> bool:
    """Whether the current request targets an API (and so wants JSON errors)."""
    return request.path.startswith(API_PREFIXES)


def api_error(status: int, code: str, message: str, details: dict | None = None, headers=None):
    """The one API error response: ``{"error": {"code", "message", "details"}}``."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return jsonify(body), status, headers or {}


def _message_for(error: HTTPException) -> str:
    description = error.description or ""
    generic = type(error).description
    # Werkzeug's stock descriptions are verbose; ours are shorter unless a view said more.
    if description and description != generic:
        return description
    return _FRIENDLY.get(error.code or 500, description)


def handle_http_error(error: HTTPException):
    """Render an HTTP error as JSON (API) or an HTML page (browser)."""
    code = error.code or 500
    message = _message_for(error)
    # Keep what the error carries (Allow on 405, Retry-After on 429), not its content type.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if is_api_request():
        name = (error.name or "error").lower().replace(" ", "_")
        if code == 429 and getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error.retry_after)
        return api_error(code, name, message, headers=headers)
    page = render_template("errors/error.html", code=code, title=error.name, message=message)
    return page, code, headers


def handle_csrf_error(error: CSRFError):
    """A missing or stale CSRF token: ask the person to reload and retry."""
    message = "Your form expired or was not sent from this site. Reload the page and try again."
    if is_api_request():
        return api_error(400, "csrf_failed", message)
    page = render_template("errors/error.html", code=400, title="Form expired", message=message)
    return page, 400


def handle_unexpected(error: Exception):
    """Anything unhandled: log it and answer 500 in the right format."""
    from flask import current_app

    from daydream.extensions import db

    current_app.logger.exception("Unhandled error: %s", error)
    db.session.rollback()
    return handle_http_error(InternalServerError())


def register(app: Flask) -> None:
    """Attach the error handlers to the app."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.config.get("TESTING") or not app.config.get("PROPAGATE_EXCEPTIONS"):
        app.register_error_handler(Exception, handle_unexpected)
