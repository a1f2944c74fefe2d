"""The account page: overview and settings."""

import pytest

from daydream.extensions import db
from daydream.models import User
from tests.conftest import PASSWORD


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def test_account_needs_login(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login?next=" in response.headers["Location"]


def test_overview_shows_identity_and_credits(client, logged_in, app):
    page = client.get("/account/").get_data(as_text=True)
    with app.app_context():
        fresh = db.session.get(User, logged_in.id)
        assert fresh.uuid in page
        assert fresh.sessionid in page
    assert logged_in.email in page
    assert "Member since" in page
    assert f">{app.config['STARTING_CREDITS']}<" in page


def test_edit_profile(client, logged_in, app):
    response = client.post(
        "/account/profile",
        data={"profile-username": "moonwalker", "profile-first_name": "Ada",
              "profile-last_name": "Lovelace", "profile-mobile": "+44 20 1234 5678"},
    )
    assert response.status_code == 302
    page = client.get("/account/").get_data(as_text=True)
    assert "moonwalker" in page and "Ada Lovelace" in page and "+44 20 1234 5678" in page


def test_profile_rejects_bad_mobile(client, logged_in):
    response = client.post("/account/profile", data={"profile-mobile": "call me maybe"})
    assert response.status_code == 400
    assert b"Use digits" in response.data


def test_change_password(client, auth, logged_in):
    response = client.post(
        "/account/password",
        data={"password-current_password": PASSWORD, "password-new_password": "new password 1",
              "password-confirm": "new password 1"},
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200, "this browser stays logged in"
    auth.logout()
    assert auth.login(logged_in.email, PASSWORD).status_code == 401
    assert auth.login(logged_in.email, "new password 1").status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password-current_password": "wrong one!", "password-new_password": "new password 1",
          "password-confirm": "new password 1"}, b"current password is not correct"),
        ({"password-current_password": PASSWORD, "password-new_password": "short",
          "password-confirm": "short"}, b"Use between 8 and 256 characters."),
        ({"password-current_password": PASSWORD, "password-new_password": "new password 1",
          "password-confirm": "new password 2"}, b"The passwords do not match."),
    ],
)
def test_change_password_errors(client, auth, logged_in, data, message):
    response = client.post("/account/password", data=data)
    assert response.status_code == 400
    assert message in response.data
    auth.logout()
    assert auth.login(logged_in.email, PASSWORD).status_code == 302


def test_change_email_waits_for_the_new_address(client, auth, logged_in):
    # The link mailed to the new address completes it (tests/test_mail.py follows it).
    response = client.post(
        "/account/email", data={"email-email": "Moved@Example.com", "email-password": PASSWORD}
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login("moved@example.com").status_code == 401
    assert auth.login(logged_in.email).status_code == 302


def test_change_email_to_taken_address(client, logged_in, make_user):
    make_user("taken@example.com")
    response = client.post(
        "/account/email", data={"email-email": "taken@example.com", "email-password": PASSWORD}
    )
    assert response.status_code == 400
    assert b"already exists" in response.data


def test_change_email_needs_password(client, logged_in):
    response = client.post(
        "/account/email", data={"email-email": "x@example.com", "email-password": "nope nope"}
    )
    assert response.status_code == 400
    assert b"Your password is not correct." in response.data


def test_credits_tab_lists_the_starting_grant(client, logged_in):
    page = client.get("/account/?tab=credits").get_data(as_text=True)
    assert 'data-kind="signup"' in page and "Starting credits" in page
