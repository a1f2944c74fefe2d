"""API keys: created on the account page or the command line, stored hashed, revocable."""

import hashlib
import re

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import ApiKey, User
from tests.api.conftest import basic, bearer

KEY_RE = re.compile(r'data-testid="new-key-value">(dd_[A-Za-z0-9_-]+)<')


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def create_on_page(client, name="my bot") -> str:
    created = client.post("/account/keys", data={"key-name": name})
    assert created.status_code == 303 and created.location.endswith("/account/?tab=keys")
    page = client.get(created.location)
    assert "shown only this once" in page.get_data(as_text=True)
    return KEY_RE.search(page.get_data(as_text=True)).group(1)


def test_reloading_after_creating_a_key_makes_no_second_key(app, client, logged_in):
    key = create_on_page(client)
    reloaded = client.get("/account/?tab=keys").get_data(as_text=True)
    assert key not in reloaded and "shown only this once" not in reloaded
    with app.app_context():
        assert len(db.session.scalars(select(ApiKey)).all()) == 1


def test_key_created_on_account_page_is_shown_once_and_works(app, client, logged_in):
    key = create_on_page(client)
    listing = client.get("/account/?tab=keys").get_data(as_text=True)
    assert key not in listing, "the full key is never shown again"
    assert key[:11] + "…" in listing and "my bot" in listing and "Never" in listing
    response = client.get("/api/v1/account", headers=bearer(key))
    assert response.status_code == 200 and response.json["email"] == logged_in.email
    assert response.json["key"] == {"name": "my bot", "prefix": key[:11]}
    assert "Never" not in client.get("/account/?tab=keys").get_data(as_text=True)


def test_key_is_stored_only_as_its_hash(app, client, logged_in):
    key = create_on_page(client)
    with app.app_context():
        row = db.session.scalar(select(ApiKey).where(ApiKey.name == "my bot"))
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        stored = [str(value) for value in (row.name, row.prefix, row.key_hash)]
        assert all(key not in value for value in stored)
    assert len(key) > 40 and key.startswith("dd_")


def test_key_needs_a_name(client, logged_in):
    page = client.post("/account/keys", data={"key-name": "  "})
    assert page.status_code == 400 and "Give the key a name" in page.get_data(as_text=True)


def test_revoked_key_stops_working_at_once(app, client, logged_in):
    key = create_on_page(client)
    assert client.get("/api/v1/account", headers=bearer(key)).status_code == 200
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id))
    page = client.post(f"/account/keys/{key_id}/revoke", follow_redirects=True)
    assert "The key was revoked" in page.get_data(as_text=True)
    response = client.get("/api/v1/account", headers=bearer(key))
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_cannot_revoke_someone_elses_key(app, client, make_user, make_key, logged_in):
    other_key = make_key(make_user("other@example.com"))
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id))
    page = client.post(f"/account/keys/{key_id}/revoke", follow_redirects=True)
    assert "No such key" in page.get_data(as_text=True)
    assert client.get("/api/v1/account", headers=bearer(other_key)).status_code == 200


def test_keys_of_a_disabled_user_stop_working(app, client, user, make_key):
    key = make_key(user)
    assert client.get("/api/v1/account", headers=bearer(key)).status_code == 200
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    for path in ("/api/v1/account", "/sdapi/v1/options"):
        response = client.get(path, headers=bearer(key))
        assert response.status_code == 403
        assert response.json["error"]["code"] == "account_disabled"


@pytest.mark.parametrize("header", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer dd_not-a-real-key"},
    {"Authorization": "Bearer " + "x" * 5000}, {"Authorization": "Token abc"},
    {"Authorization": "Basic !!!"}, {"Authorization": "Basic " + "dXNlcg=="},
])
def test_missing_or_unknown_keys_get_401(client, header):
    response = client.get("/api/v1/account", headers=header)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["code"] == "unauthorized"
    assert client.get("/sdapi/v1/options", headers=header).headers[
        "WWW-Authenticate"].startswith("Basic")


def test_basic_auth_takes_the_key_as_password(client, user, make_key):
    key = make_key(user)
    assert client.get("/api/v1/account", headers=basic(key)).status_code == 200
    assert client.get("/sdapi/v1/sd-models", headers=basic(key, "")).status_code == 200


def test_cli_creates_lists_and_revokes_keys(app, client, user):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["keys", "create", user.email, "--name", "nightly"])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert client.get("/api/v1/account", headers=bearer(key)).status_code == 200
    listed = runner.invoke(args=["keys", "list", user.email])
    assert "nightly" in listed.output and key[:11] in listed.output and key not in listed.output
    key_id = listed.output.split()[0]
    revoked = runner.invoke(args=["keys", "revoke", user.email, key_id])
    assert revoked.exit_code == 0 and client.get(
        "/api/v1/account", headers=bearer(key)).status_code == 401


def test_cli_refuses_unknown_user_and_empty_name(app, user):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["keys", "create", "nobody@example.com", "--name", "x"])
    assert unknown.exit_code != 0 and "No user with email" in unknown.output
    empty = runner.invoke(args=["keys", "create", user.email, "--name", " "])
    assert empty.exit_code != 0 and "Give the key a name" in empty.output


def test_deleting_a_user_deletes_their_keys(app, client, user, make_key):
    key = make_key(user)
    with app.app_context():
        db.session.delete(db.session.get(User, user.id))
        db.session.commit()
        assert db.session.scalar(select(ApiKey)) is None
    assert client.get("/api/v1/account", headers=bearer(key)).status_code == 401
