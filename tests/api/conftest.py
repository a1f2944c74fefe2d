"""Fixtures for the API tests: keys, and headers that carry them."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from daydream.extensions import db
from daydream.models import User
from daydream.services import apikeys


@pytest.fixture
def make_key(app) -> Callable[..., str]:
    """Factory: ``make_key(user, name="script")`` → the full key."""

    def factory(user: User, name: str = "script") -> str:
        with app.app_context():
            return apikeys.create_key(db.session.get(User, user.id), name)[1]

    return factory


def bearer(key: str) -> dict[str, str]:
    """Headers that send ``key`` as a Bearer token."""
    return {"Authorization": f"Bearer {key}"}


def basic(key: str, username: str = "anyone") -> dict[str, str]:
    """Headers that send ``key`` as the password of HTTP Basic, as A1111 clients do."""
    token = base64.b64encode(f"{username}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def headers(user, make_key) -> dict[str, str]:
    """Bearer headers with a fresh key of the default ``user``."""
    return bearer(make_key(user))


TINY = {"prompt": "a lighthouse at dawn", "width": 64, "height": 64, "steps": 2,
        "scheduler": "Euler"}


@pytest.fixture
def live_server(app):
    """The test app served on a free loopback port in a thread; yields (host, port)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_port
    server.shutdown()
    thread.join(5)
