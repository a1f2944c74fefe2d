"""HTTP hardening wired into the app: security headers, caching of private responses, proxies,
CSRF tokens that change at login and logout, and the public URL shown in examples.

The headers come from the maintained ``secure`` library; the policy is Daydream's:
no inline script or style anywhere (scripts live in ``static/js``), nothing may frame a
page, forms post only to this site, and HSTS is sent only on HTTPS responses.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import secure
from flask import Flask, Response, abort, current_app, g, request, session
from flask_login import user_logged_in, user_logged_out
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from daydream.config import ConfigError
from daydream.models.base import MAX_ID
from daydream.services import safetext

SELF = "'self'"
NONE = "'none'"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
PLACEHOLDER_URL = "https://daydream.example"


def content_security_policy() -> secure.ContentSecurityPolicy:
    """The CSP: same-origin scripts and styles only, Socket.IO over same-origin connect."""
    return (
        secure.ContentSecurityPolicy()
        .default_src(SELF)
        .script_src(SELF)
        .style_src(SELF)
        # Previews arrive as data: URLs; the chosen init image is shown from a blob: URL.
        .img_src(SELF, "data:", "blob:")
        .font_src(SELF)
        # 'self' covers same-origin ws:/wss: for the Socket.IO websocket (CSP level 3).
        .connect_src(SELF)
        .object_src(NONE)
        .base_uri(NONE)
        .frame_ancestors(NONE)
        .form_action(SELF)
    )


def _headers(hsts_seconds: int | None) -> secure.Secure:
    return secure.Secure(
        csp=content_security_policy(),
        xcto=secure.XContentTypeOptions(),
        xfo=secure.XFrameOptions().deny(),
        referrer=secure.ReferrerPolicy().same_origin(),
        coop=secure.CrossOriginOpenerPolicy().same_origin(),
        permissions=secure.PermissionsPolicy().geolocation().camera().microphone(),
        hsts=(secure.StrictTransportSecurity().max_age(hsts_seconds).include_subdomains()
              if hsts_seconds else None),
    )


def proxy_hops(setting: str | int | None) -> dict[str, int]:
    """ProxyFix arguments from ``DAYDREAM_PROXY_FIX``: ``"1"`` or ``"for=1,proto=1,host=1"``.

    A bare number N trusts N proxies for the client address and the scheme; the host and
    prefix are trusted only when named, since a proxy that does not set those headers
    would let clients choose them.
    """
    text = str(setting or "").strip()
    if not text or text == "0":
        return {}
    if text.isdigit():
        return {"x_for": int(text), "x_proto": int(text)}
    hops: dict[str, int] = {}
    for part in text.split(","):
        name, _, count = part.partition("=")
        name = name.strip().lower()
        if name not in ("for", "proto", "host", "port", "prefix") or not count.strip().isdigit():
            raise ConfigError(
                f"DAYDREAM_PROXY_FIX: {part.strip()!r} is not like 'for=1' "
                "(names: for, proto, host, port, prefix)")
        hops[f"x_{name}"] = int(count)
    return hops


def _harden_cookies(app: Flask) -> None:
    """SHA-256 session signatures; ``__Host-`` names for cookies that only travel over HTTPS."""
    # Flask signs its session cookie with HMAC-SHA1 by default; ASVS 11.4 asks for SHA-2.
    app.session_interface.digest_method = staticmethod(hashlib.sha256)  # type: ignore[attr-defined]
    if app.config.get("SESSION_COOKIE_SECURE") and not app.config.get("SESSION_COOKIE_DOMAIN"):
        # Browsers keep a __Host- cookie only if it is Secure, for this host only and for
        # every path: no subdomain can plant or read it.
        if app.config.get("SESSION_COOKIE_NAME") == "session":
            app.config["SESSION_COOKIE_NAME"] = "__Host-session"
        app.config.setdefault("REMEMBER_COOKIE_NAME", "__Host-remember_token")


def init_app(app: Flask) -> None:
    """Cookies, trusted proxies, text checks, security headers and CSRF rotation."""
    _harden_cookies(app)
    hops = proxy_hops(app.config.get("PROXY_FIX"))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)  # type: ignore[method-assign]
    plain = _headers(None)
    over_https = _headers(app.config.get("HSTS_SECONDS") or None)

    @app.before_request
    def refuse_unstorable_text() -> None:
        """Forms, query strings and URL parts with NUL or lone surrogates get a 400."""
        pairs = [*request.args.items(multi=True), *request.form.items(multi=True),
                 *((name, str(value)) for name, value in (request.view_args or {}).items())]
        field = safetext.first_unstorable_pair(pairs)
        if field:
            abort(400, safetext.MESSAGE.format(field=field))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        """Security headers on every response; private responses are never stored."""
        (over_https if request.is_secure else plain).set_headers(response)
        # Anything not explicitly public (a shared image, the static files) may hold a
        # person's data: no shared cache or browser disk may keep it.
        if not response.cache_control.public and request.endpoint != "static":
            response.cache_control.private = True
            response.cache_control.no_store = True
        return response

    # A token seen before login (on a shared computer, in a cached page) must not carry over.
    user_logged_in.connect(rotate_csrf_token, app)
    user_logged_out.connect(rotate_csrf_token, app)


def rotate_csrf_token(sender: Flask, **extra: object) -> None:
    """Forget the session's CSRF token; the next form gets a new one."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)


def public_base_url() -> str:
    """The site's URL for examples: ``DAYDREAM_PUBLIC_URL``, never a visitor's Host header.

    Unset, a loopback host (a developer's own machine) is shown as requested; any other
    host gets a placeholder, so a forged ``Host`` never ends up in a page.
    """
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return str(configured).rstrip("/")
    if urlsplit(request.host_url).hostname in LOOPBACK_HOSTS:
        return request.host_url.rstrip("/")
    return PLACEHOLDER_URL


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in URLs, bounded to what an integer id column holds (2³¹ − 1).

    A larger number can name no row; unbounded, it reached PostgreSQL as an out-of-range
    parameter and came back as a 500 instead of a 404.
    """

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

