"""Security headers on every response, no inline script in any template, trusted proxies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import daydream
from daydream import create_app
from daydream.config import ConfigError
from daydream.extensions import db
from daydream.security import proxy_hops

TEMPLATES = sorted(Path(daydream.__file__).parent.rglob("templates/**/*.html"))


def directives(response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    policy = response.headers["Content-Security-Policy"]
    return {name: rest.strip() for name, _, rest in
            (part.strip().partition(" ") for part in policy.split(";") if part.strip())}


@pytest.mark.parametrize("url", ["/", "/auth/login", "/account/", "/gallery", "/api/v1/info",
                                 "/sdapi/v1/samplers", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, auth, user, url):
    auth.login(user.email)
    response = client.get(url)
    csp = directives(response)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["form-action"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_hsts_only_over_https(client):
    response = client.get("/", base_url="https://daydream.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_account_pages_are_never_stored(client, auth, user):
    auth.login(user.email)
    cache = client.get("/account/").headers["Cache-Control"]
    assert "no-store" in cache and "private" in cache


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_no_template_has_inline_script_style_or_handlers(template):
    text = template.read_text()
    # <script> only with a src (or a JSON data block, which the CSP does not run).
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"
    assert "<style" not in text and "javascript:" not in text


def test_proxy_setting_is_parsed():
    assert proxy_hops("") == {} and proxy_hops("0") == {}
    assert proxy_hops("2") == {"x_for": 2, "x_proto": 2}
    assert proxy_hops("for=1, proto=1, host=1") == {"x_for": 1, "x_proto": 1, "x_host": 1}
    with pytest.raises(ConfigError, match="DAYDREAM_PROXY_FIX"):
        proxy_hops("everyone")


def _guess_from(client, address: str):
    return client.post("/auth/login", data={"email": "x@example.com", "password": "guess"},
                       headers={"X-Forwarded-For": address})


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(app, client):
    app.config.update(LOGIN_ATTEMPTS_PER_MINUTE=2)
    for address in ("1.1.1.1", "2.2.2.2"):
        assert _guess_from(client, address).status_code == 401
    assert _guess_from(client, "3.3.3.3").status_code == 429  # all one address to us


def test_behind_a_trusted_proxy_each_client_has_its_own_address(app_settings, tmp_path):
    app = create_app({**app_settings, "PROXY_FIX": "1",
                      "LOGIN_ATTEMPTS_PER_MINUTE": 2}, instance_path=tmp_path / "proxied")
    with app.app_context():
        db.create_all()
    client = app.test_client()
    for _ in range(2):
        assert _guess_from(client, "1.1.1.1").status_code == 401
    assert _guess_from(client, "1.1.1.1").status_code == 429
    assert _guess_from(client, "2.2.2.2").status_code == 401  # not locked out by the other
    https = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in https.headers
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_api_docs_never_echo_a_forged_host(client):
    page = client.get("/api/docs", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in page
    assert "https://daydream.example/api/v1" in page


def test_api_docs_use_the_configured_public_url(app, client):
    app.config["PUBLIC_URL"] = "https://dreams.example.org/"
    page = client.get("/api/docs", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "https://dreams.example.org/api/v1" in page and "evil.example" not in page


def test_api_docs_on_a_developers_machine_show_its_address(client):
    page = client.get("/api/docs", base_url="http://127.0.0.1:5000").get_data(as_text=True)
    assert "http://127.0.0.1:5000/api/v1" in page


def test_secure_cookies_get_the_host_prefix(app_settings, tmp_path):
    app = create_app({**app_settings, "SESSION_COOKIE_SECURE": True,
                      "REMEMBER_COOKIE_SECURE": True}, instance_path=tmp_path / "https")
    with app.app_context():
        db.create_all()
    from daydream.services import users

    with app.app_context():
        users.create_user("https@example.com", "correct horse battery")
    client = app.test_client()
    response = client.post("/auth/login", base_url="https://daydream.example",
                           data={"email": "https@example.com",
                                 "password": "correct horse battery", "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("__Host-session=") and "Secure" in c and "Path=/" in c
               for c in cookies), cookies
    assert any(c.startswith("__Host-remember_token=") and "Secure" in c for c in cookies)
    assert client.get("/account/", base_url="https://daydream.example").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _serializer(app, digest):
    """Flask's session serializer, with ``digest`` for its HMAC."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(
        app.secret_key, salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": digest})


def test_session_cookies_are_signed_with_sha256(app, client, auth, user):
    import hashlib

    auth.login(user.email)
    data = _serializer(app, hashlib.sha256).loads(client.get_cookie("session").value)
    for digest, status in ((hashlib.sha1, 302), (hashlib.sha256, 200)):
        client.set_cookie("session", _serializer(app, digest).dumps(data))
        assert client.get("/account/").status_code == status, digest.__name__
