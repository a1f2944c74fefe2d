"""CSRF tokens change at login and logout: a token from before does not work after."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def app_settings(app_settings):
    """CSRF protection on, as in production."""
    app_settings["WTF_CSRF_ENABLED"] = True
    return app_settings


def token_on(client, url: str) -> str:
    """The CSRF token in the first form of a page."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_token_from_before_login_does_not_survive_login(client, user):
    before = token_on(client, "/auth/login")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                                "csrf_token": before})
    assert response.status_code == 302
    after = token_on(client, "/account/")
    assert after != before
    stale = client.post("/account/profile", data={"username": "x", "csrf_token": before})
    assert stale.status_code == 400 and b"Reload the page and try again." in stale.data


def test_the_token_changes_at_logout(client, user):
    login_token = token_on(client, "/auth/login")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                     "csrf_token": login_token})
    signed_in = token_on(client, "/account/")
    assert client.post("/auth/logout", data={"csrf_token": signed_in}).status_code == 302
    assert token_on(client, "/auth/login") != signed_in
    stale = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                             "csrf_token": signed_in})
    assert stale.status_code == 400 and b"Reload the page and try again." in stale.data
