"""Input no database can store, or no float can hold, gets a clear 4xx (never a 500).

Run on SQLite and PostgreSQL: PostgreSQL refuses NUL in text and 32-bit overflows that
SQLite would quietly accept.
"""

from __future__ import annotations

import json

import pytest

from daydream.extensions import db
from daydream.models import User
from daydream.services.credits import MAX_BALANCE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

HUGE = 10 ** 400  # 401 digits: float(HUGE) raises OverflowError
SURROGATE = "a\ud800b"
NUL = "a\x00b"


def post_json(client, url: str, body: dict, headers: dict):
    """POST a body json.dumps writes as is (lone surrogates escaped, huge ints in full)."""
    return client.post(url, data=json.dumps(body), headers=headers,
                       content_type="application/json")


def assert_clear_4xx(response, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code}"


def test_huge_numbers_in_a1111_requests(client, user, api_headers, png_bytes):
    import base64

    headers = api_headers(user)
    image = base64.b64encode(png_bytes(64, 64).getvalue()).decode()
    for url, body in (("/sdapi/v1/txt2img", {"prompt": "p", "cfg_scale": HUGE}),
                      ("/sdapi/v1/img2img", {"prompt": "p", "init_images": [image],
                                             "denoising_strength": HUGE})):
        response = post_json(client, url, body, headers)
        assert_clear_4xx(response, url)
        assert response.json["error"]["details"], url


@pytest.mark.parametrize("text", [SURROGATE, NUL], ids=["surrogate", "nul"])
def test_unstorable_text_in_api_prompts(client, user, api_headers, text):
    headers = api_headers(user)
    for url in ("/api/v1/tasks", "/sdapi/v1/txt2img"):
        for field in ("prompt", "negative_prompt"):
            body = {"prompt": "p", "width": 64, "height": 64, field: text}
            response = post_json(client, url, body, headers)
            assert_clear_4xx(response, f"{url} {field}")
            assert response.json["error"]["code"] == "invalid_text"
            assert field in response.json["error"]["details"]
    with client.application.app_context():
        assert db.session.get(User, user.id).credits == user.credits  # nothing charged


FORMS = [
    ("/auth/login", {"email": "x@example.com", "password": "p"}),
    ("/auth/register", {"email": "n@example.com", "username": "n", "password": PASSWORD,
                        "confirm": PASSWORD}),
    ("/account/profile", {"username": "u", "first_name": "f", "last_name": "l",
                          "mobile": "+1555"}),
    ("/account/email", {"email": "e@example.com", "password": PASSWORD}),
    ("/account/password", {"current_password": PASSWORD, "new_password": "x" * 12,
                           "confirm": "x" * 12}),
    ("/account/keys", {"name": "k"}),
    ("/studio/tasks", {"prompt": "p", "width": "64", "height": "64", "steps": "2"}),
]


@pytest.mark.parametrize(("url", "form"), FORMS, ids=[url for url, _ in FORMS])
def test_nul_in_every_form_field(client, auth, staff, url, form):
    for field in form:
        if url != "/auth/login":
            auth.login(staff.email)
        response = client.post(url, data={**form, field: NUL})
        assert_clear_4xx(response, f"{url} {field}")
        if url.startswith("/auth/") and field == "email":
            assert b"cannot be stored" in response.data


def test_nul_in_query_strings_and_url_parts(client, auth, staff):
    auth.login(staff.email)
    for url in ("/admin/?q=a%00b", "/gallery?page=%00", "/media/a%00b.png",
                "/studio/tasks/a%00b", "/api/v1/tasks/a%00b"):
        assert_clear_4xx(client.get(url), url)


def test_grants_stop_at_the_balance_cap(app, client, auth, staff, make_user):
    rich = make_user("rich@example.com", credits=MAX_BALANCE - 10)
    auth.login(staff.email)
    response = client.post(f"/admin/users/{rich.id}/credits", data={"amount": "1000000"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert b"past the limit" in response.data
    with app.app_context():
        assert db.session.get(User, rich.id).credits == MAX_BALANCE - 10
    result = app.test_cli_runner().invoke(args=["users", "grant", rich.email, str(2 ** 40)])
    assert result.exit_code != 0 and "past the limit" in result.output
    result = app.test_cli_runner().invoke(args=["users", "grant", rich.email, "10"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(User, rich.id).credits == MAX_BALANCE
