"""Password reset and email confirmation by real mail, received by an SMTP server on loopback."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import pytest

from daydream.extensions import db
from daydream.models import User
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def path_of(url: str) -> str:
    """The path of a mailed link, for the test client."""
    return urlsplit(url).path


def test_reset_password_from_the_mailed_link(client, auth, user, mailbox):
    response = client.post("/auth/forgot", data={"email": "Dreamer@Example.com "})
    assert response.status_code == 303
    message = mailbox.wait_for(user.email)
    assert message["Subject"] == "Reset your Daydream password"
    assert message["From"] == "Daydream <noreply@daydream.test>"
    link = path_of(mailbox.link(user.email, "/auth/reset/"))
    assert client.get(link).status_code == 200
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "something else"})
    assert mismatch.status_code == 400
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.location.endswith("/auth/login")
    assert auth.login(user.email, PASSWORD).status_code == 401
    assert auth.login(user.email, NEW_PASSWORD).status_code == 302


def test_reset_link_works_once(client, user, mailbox):
    client.post("/auth/forgot", data={"email": user.email})
    link = path_of(mailbox.link(user.email, "/auth/reset/"))
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.get(link)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    reuse = client.post(link, data={"password": "another passphrase", "confirm":
                                    "another passphrase"})
    assert reuse.status_code == 400


def test_reset_link_expires(app, client, user, mailbox, monkeypatch):
    client.post("/auth/forgot", data={"email": user.email})
    link = path_of(mailbox.link(user.email, "/auth/reset/"))
    assert client.get(link).status_code == 200
    later = time.time() + app.config["PASSWORD_RESET_MAX_AGE"] + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    answer = client.get(link)
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    assert client.get("/auth/reset/forged-token").status_code == 400


def test_unknown_address_gets_the_same_answer_and_no_mail(client, user, mailbox):
    known = client.post("/auth/forgot", data={"email": user.email}, follow_redirects=True)
    unknown = client.post("/auth/forgot", data={"email": "nobody@example.com"},
                          follow_redirects=True)
    assert "If an account uses that address" in unknown.get_data(as_text=True)
    assert "If an account uses that address" in known.get_data(as_text=True)
    assert [m["To"] for m in mailbox.messages] == [user.email]


def test_without_a_mail_server_the_message_goes_to_the_log(client, user, caplog):
    with caplog.at_level(logging.WARNING):
        client.post("/auth/forgot", data={"email": user.email})
    assert "No DAYDREAM_MAIL_SERVER" in caplog.text and "/auth/reset/" in caplog.text


def test_a_dead_mail_server_is_logged_and_reveals_no_account(app, client, user, caplog):
    # Only known addresses get mail, so a visible mail error would tell who has an account.
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_SECURITY="none")
    known = client.post("/auth/forgot", data={"email": user.email}, follow_redirects=True)
    unknown = client.post("/auth/forgot", data={"email": "nobody@example.com"},
                          follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert "a reset link is on its way" in known.get_data(as_text=True)
    assert "could not mail a password reset link" in caplog.text


def test_signup_mails_a_confirmation_link(app, client, mailbox):
    client.post("/auth/register", data={"email": "new@example.com", "password": PASSWORD,
                                        "confirm": PASSWORD})
    client.post("/auth/login", data={"email": "new@example.com", "password": PASSWORD})
    assert "Not confirmed yet." in client.get("/account/").get_data(as_text=True)
    link = path_of(mailbox.link("new@example.com", "/auth/verify/"))
    assert client.get(link).status_code == 303
    assert 'text-green-700 dark:text-green-400">Confirmed' in client.get("/account/").get_data(
        as_text=True)
    assert client.get(link).status_code == 400  # used
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "new@example.com"))
        assert user.email_verified_at is not None


def test_resend_confirmation(client, auth, user, mailbox):
    auth.login(user.email)
    client.post("/account/verify")
    assert "/auth/verify/" in mailbox.wait_for(user.email).get_content()


def test_email_change_is_confirmed_at_the_new_address(client, auth, user, mailbox):
    auth.login(user.email)
    response = client.post("/account/email", data={"email-email": "Moved@Example.com",
                                                    "email-password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/").get_data(as_text=True).count(user.email) >= 1
    link = path_of(mailbox.link("moved@example.com", "/auth/email/"))
    assert client.get(link).status_code == 303
    page = client.get("/account/").get_data(as_text=True)
    assert 'data-testid="account-email" class="break-all">moved@example.com' in page
    notice = mailbox.wait_for(user.email)
    assert "moved@example.com" in notice.get_content()
    assert client.get(link).status_code == 400  # used
    auth.logout()
    assert auth.login("moved@example.com").status_code == 302


def test_email_change_refuses_a_taken_address_even_at_confirmation(
        client, auth, user, make_user, mailbox):
    auth.login(user.email)
    client.post("/account/email", data={"email-email": "later@example.com",
                                        "email-password": PASSWORD})
    link = path_of(mailbox.link("later@example.com", "/auth/email/"))
    make_user("later@example.com")
    answer = client.get(link)
    assert answer.status_code == 400 and "took that address" in answer.get_data(as_text=True)


@pytest.mark.parametrize(("address", "message"), [
    ("dreamer@example.com", "already your email"), ("taken@example.com", "already exists")])
def test_email_change_refusals(client, auth, user, make_user, mailbox, address, message):
    make_user("taken@example.com")
    auth.login(user.email)
    response = client.post("/account/email", data={"email-email": address,
                                                   "email-password": PASSWORD})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_disabled_account_is_told_so_only_with_the_right_password(app, client, auth, user):
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    wrong = auth.login(user.email, "not the password")
    assert wrong.status_code == 401 and "disabled" not in wrong.get_data(as_text=True)
    right = auth.login(user.email)
    assert right.status_code == 403 and "This account is disabled" in right.get_data(
        as_text=True)


def test_a_forged_host_never_reaches_the_mail(app, client, user, mailbox):
    client.post("/auth/forgot", data={"email": user.email}, headers={"Host": "evil.example"})
    assert "evil.example" not in mailbox.wait_for(user.email).get_content()
    app.config["PUBLIC_URL"] = "https://dreams.example.org/"
    mailbox.messages.clear()
    client.post("/auth/forgot", data={"email": user.email}, headers={"Host": "evil.example"})
    assert mailbox.link(user.email, "/auth/reset/").startswith(
        "https://dreams.example.org/auth/reset/")
