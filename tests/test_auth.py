"""Registering, logging in and out, as a person does it."""

import re

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import User
from tests.conftest import PASSWORD


def register(client, email="new@example.com", password=PASSWORD, confirm=None, **extra):
    data = {"email": email, "password": password, "confirm": confirm or password, **extra}
    return client.post("/auth/register", data=data)


def test_register_creates_an_account_to_log_in_with(client, app, auth):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert b"your account is ready" in client.get("/auth/login").data
    assert auth.login("new@example.com").status_code == 302
    page = client.get("/account/")
    assert page.status_code == 200
    assert b"new@example.com" in page.data
    assert f"{app.config['STARTING_CREDITS']} credits".encode() in client.get("/").data


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": ""}, b"Enter your email."),
        ({"email": "not-an-email"}, b"Enter a valid email."),
        ({"password": "short", "confirm": "short"}, b"Use between 8 and 256 characters."),
        ({"confirm": "something else"}, b"The passwords do not match."),
    ],
)
def test_register_rejects_bad_input(client, app, fields, message):
    data = {"email": "x@example.com", "password": PASSWORD, "confirm": PASSWORD, **fields}
    response = client.post("/auth/register", data=data)
    assert response.status_code == 400
    assert message in response.data
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_register_accepts_a_64_character_passphrase(client):
    long_password = "a long passphrase " * 4 + "ok"
    assert len(long_password) >= 64
    assert register(client, password=long_password).status_code == 302


def without_token(page: bytes) -> bytes:
    """A page without its CSRF token (which carries a timestamp)."""
    return re.sub(rb'name="csrf-token" content="[^"]*"', b"", page)


def test_register_does_not_reveal_a_taken_email(app, client, user):
    # Finding 4: sign-up said "already exists", which told anyone who had an account.
    taken = register(client, email="Dreamer@Example.com", password="another password 1")
    taken_page = client.get("/auth/login").data
    fresh = register(client, email="newcomer@example.com")
    fresh_page = client.get("/auth/login").data
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert without_token(taken_page) == without_token(fresh_page)
    assert b"already exists" not in taken.data + taken_page
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == user.password_hash, "untouched"
        assert len(db.session.scalars(select(User)).all()) == 2


def test_login_and_logout(client, auth, user):
    response = auth.login(user.email)
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/account/").status_code == 302


def test_login_error_is_generic(client, auth, user):
    wrong_password = auth.login(user.email, "not the password")
    unknown_user = auth.login("nobody@example.com", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert b"Wrong email or password." in wrong_password.data
    assert b"Wrong email or password." in unknown_user.data


def test_login_is_case_insensitive_on_email(auth, user):
    assert auth.login(user.email.upper()).status_code == 302


def test_disabled_user_cannot_log_in(app, auth, user):
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    refused = auth.login(user.email)
    assert refused.status_code == 403 and b"This account is disabled" in refused.data


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account/?tab=settings", "/account/?tab=settings"),
        ("https://evil.example/", "/studio/"),
        ("//evil.example/", "/studio/"),
        ("/\\evil.example", "/studio/"),
    ],
)
def test_login_next_redirect_is_checked(client, auth, user, target, expected):
    response = client.post(
        "/auth/login", query_string={"next": target},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_logout_needs_post(client, auth, user):
    auth.login(user.email)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/account/").status_code == 200


def test_remember_me_sets_a_cookie(client, auth, user):
    auth.login(user.email, remember="y")
    assert client.get_cookie("remember_token") is not None


@pytest.fixture
def csrf_app_settings(app_settings):
    app_settings["WTF_CSRF_ENABLED"] = True
    return app_settings


def test_csrf_token_is_required(csrf_app_settings, client, user):
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"Reload the page and try again." in response.data
    assert client.get("/account/").status_code == 302


def test_closed_signups(app, client):
    app.config["SIGNUP_POLICY"] = "closed"
    response = client.get("/auth/register")
    assert response.status_code == 403
    assert b"Sign-ups are closed" in response.data


def test_password_guessing_is_slowed_down(app, client, auth, user):
    app.config.update(LOGIN_ATTEMPTS_PER_MINUTE=3)
    for _ in range(3):
        assert auth.login(user.email, "guess guess").status_code == 401
    blocked = auth.login(user.email, "guess guess")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert b"Too many login attempts" in blocked.data
    assert auth.login(user.email).status_code == 429, "even the right password waits"
    assert auth.login("someone.else@example.com", "guess guess").status_code == 401


def test_signing_up_with_a_taken_email_mails_its_owner(client, user, mailbox):
    # One mail on both paths (confirmation or notice): the owner learns of the attempt and
    # the answer's timing does not tell the visitor which it was.
    register(client, email="Dreamer@Example.com", password="another password 1")
    notice = mailbox.wait_for(user.email)
    assert notice["Subject"] == "Someone tried to sign up with your address"
    assert "/auth/forgot" in notice.get_content()
    register(client, email="brand.new@example.com")
    assert mailbox.wait_for("brand.new@example.com")["Subject"] == \
        "Confirm your email for Daydream"
