"""Login sessions: rows on the server, ended by logout, lifetimes, password and email changes,
the account's sessions list and staff's "end sessions"."""

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from daydream.extensions import db, socketio
from daydream.models import LoginSession, User
from daydream.models.base import utcnow
from tests.conftest import PASSWORD

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Safari/604.1"


def login(app, email, *, remember=False, agent=CHROME):
    """A fresh browser (test client) logged in as ``email``."""
    browser = app.test_client()
    data = {"email": email, "password": PASSWORD, **({"remember": "y"} if remember else {})}
    response = browser.post("/auth/login", data=data, headers={"User-Agent": agent})
    assert response.status_code == 302
    return browser


def replay(app, **cookies):
    """A new browser presenting saved cookies."""
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def opens_account(browser) -> bool:
    return browser.get("/account/").status_code == 200


def test_logout_refuses_the_old_session_cookie(app, user):
    # Finding 2: after logout the saved `session` cookie still opened /account/.
    browser = login(app, user.email)
    saved = browser.get_cookie("session").value
    assert opens_account(replay(app, session=saved)), "the saved cookie works before logout"
    browser.post("/auth/logout")
    assert not opens_account(replay(app, session=saved))
    assert not opens_account(browser)


def test_logout_refuses_the_old_remember_token(app, user):
    # Finding 2: the remember_token (valid a year) still opened /account/ after logout.
    browser = login(app, user.email, remember=True)
    saved = browser.get_cookie("remember_token").value
    assert opens_account(replay(app, remember_token=saved)), "remember-me works before logout"
    browser.post("/auth/logout")
    assert not opens_account(replay(app, remember_token=saved))


def test_logout_ends_only_that_login(app, user):
    laptop, phone = login(app, user.email), login(app, user.email, agent=IPHONE)
    laptop.post("/auth/logout")
    assert opens_account(phone) and not opens_account(laptop)


def test_logout_closes_the_sockets_of_that_login_only(app, user):
    laptop, phone = login(app, user.email), login(app, user.email)
    laptop_socket = socketio.test_client(app, flask_test_client=laptop)
    phone_socket = socketio.test_client(app, flask_test_client=phone)
    assert laptop_socket.is_connected() and phone_socket.is_connected()
    laptop.post("/auth/logout")
    assert not laptop_socket.is_connected()
    assert phone_socket.is_connected()
    assert not socketio.test_client(app, flask_test_client=laptop).is_connected()


def test_the_cookie_holds_a_key_the_database_only_hashes(app, user):
    browser = login(app, user.email, remember=True)
    with app.app_context():
        row = db.session.scalar(select(LoginSession))
        assert len(row.key_hash) == 64
        assert row.key_hash not in browser.get_cookie("remember_token").value
        assert row.device == "Chrome on Linux" and row.address == "127.0.0.1"


def age(app, user, **shift):
    """Move every login of ``user`` back in time."""
    with app.app_context():
        for row in db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
            for column, delta in shift.items():
                setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_an_idle_login_expires(app, user):
    app.config.update(SESSION_IDLE_SECONDS=600)
    browser = login(app, user.email, remember=True)
    age(app, user, last_seen_at=timedelta(seconds=300))
    assert opens_account(browser), "5 idle minutes of 10 are fine, and reset the clock"
    age(app, user, last_seen_at=timedelta(seconds=601))
    assert not opens_account(browser)
    with app.app_context():
        assert db.session.scalar(select(LoginSession.ended_reason)) == "expired"


def test_a_login_ends_at_its_absolute_lifetime_however_busy(app, user):
    app.config.update(SESSION_MAX_SECONDS=3600)
    browser = login(app, user.email, remember=True)
    age(app, user, created_at=timedelta(seconds=3000))
    assert opens_account(browser)
    age(app, user, created_at=timedelta(seconds=601))
    assert not opens_account(browser)


def test_remember_cookie_lasts_as_long_as_the_login(app):
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(
        seconds=app.config["SESSION_MAX_SECONDS"])


def test_a_password_change_ends_the_other_logins(app, user):
    here, elsewhere = login(app, user.email), login(app, user.email, agent=IPHONE)
    response = here.post("/account/password", data={
        "password-current_password": PASSWORD, "password-new_password": "a brand new passphrase",
        "password-confirm": "a brand new passphrase"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Password changed." in page and "logged you out of your 1 other session" in page
    assert opens_account(here) and not opens_account(elsewhere)


def test_a_confirmed_email_change_ends_the_other_logins(app, user, mailbox):
    here, elsewhere = login(app, user.email), login(app, user.email, agent=IPHONE)
    here.post("/account/email", data={"email-email": "moved@example.com",
                                      "email-password": PASSWORD})
    assert opens_account(elsewhere)  # nothing changes until the new address confirms
    link = urlsplit(mailbox.link("moved@example.com", "/auth/email/")).path
    page = here.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Your login email is now moved@example.com" in page
    assert "logged you out of your 1 other session" in page
    assert opens_account(here) and not opens_account(elsewhere)


def test_a_password_reset_ends_every_login(app, user, mailbox):
    laptop = login(app, user.email, remember=True)
    saved = laptop.get_cookie("remember_token").value
    stranger = app.test_client()
    stranger.post("/auth/forgot", data={"email": user.email})
    link = urlsplit(mailbox.link(user.email, "/auth/reset/")).path
    stranger.post(link, data={"password": "a brand new passphrase",
                              "confirm": "a brand new passphrase"})
    assert not opens_account(laptop)
    assert not opens_account(replay(app, remember_token=saved))


def test_account_lists_your_logins_and_ends_one(app, user, make_user):
    here, phone = login(app, user.email), login(app, user.email, agent=IPHONE)
    login(app, make_user("someone@example.com").email)
    page = here.get("/account/?tab=sessions").get_data(as_text=True)
    assert page.count('data-testid="session"') == 2, "only your own logins"
    assert "iPhone" in page and "Chrome on Linux" in page and "This browser" in page
    assert "after 7 days without use, 30 days after you logged in" in page
    with app.app_context():
        phone_id = db.session.scalar(select(LoginSession.id).where(
            LoginSession.device == "Safari on iPhone"))
    wrong = here.post(f"/account/sessions/{phone_id}/end", data={"password": "not it"},
                      follow_redirects=True)
    assert "Enter your current password to end sessions." in wrong.get_data(as_text=True)
    assert opens_account(phone), "ending a login needs the password (ASVS 7.5.2)"
    ended = here.post(f"/account/sessions/{phone_id}/end", data={"password": PASSWORD})
    assert ended.status_code == 303
    assert not opens_account(phone) and opens_account(here)
    assert here.get("/account/?tab=sessions").get_data(as_text=True).count(
        'data-testid="session"') == 1


def test_you_cannot_end_someone_elses_login(app, user, make_user):
    here = login(app, user.email)
    victim = login(app, make_user("victim@example.com").email)
    with app.app_context():
        victim_login = db.session.scalar(select(LoginSession.id).join(User).where(
            User.email == "victim@example.com"))
    assert here.post(f"/account/sessions/{victim_login}/end",
                     data={"password": PASSWORD}).status_code == 404
    assert opens_account(victim)


def test_end_all_other_sessions(app, user):
    here = login(app, user.email)
    others = [login(app, user.email) for _ in range(3)]
    refused = here.post("/account/sessions/end-others", follow_redirects=True)
    assert "Enter your current password" in refused.get_data(as_text=True)
    assert all(opens_account(b) for b in others)
    page = here.post("/account/sessions/end-others", data={"password": PASSWORD},
                     follow_redirects=True).get_data(as_text=True)
    assert "Ended 3 other sessions" in page
    assert opens_account(here) and not any(opens_account(b) for b in others)


def test_staff_can_end_every_session_of_a_user(app, user, staff):
    browsers = [login(app, user.email) for _ in range(2)]
    admin = login(app, staff.email)
    response = admin.post(f"/admin/users/{user.id}/end-sessions", follow_redirects=True)
    assert "Ended 2 sessions of dreamer@example.com" in response.get_data(as_text=True)
    assert not any(opens_account(b) for b in browsers)
    assert opens_account(admin)


def test_only_staff_may_end_sessions(app, user, make_user):
    browser = login(app, user.email)
    intruder = login(app, make_user("intruder@example.com").email)
    assert intruder.post(f"/admin/users/{user.id}/end-sessions").status_code == 403
    assert opens_account(browser)


def test_disabling_an_account_ends_its_logins(app, user, staff):
    browser = login(app, user.email, remember=True)
    saved = browser.get_cookie("remember_token").value
    login(app, staff.email).post(f"/admin/users/{user.id}/toggle")
    with app.app_context():
        assert db.session.get(User, user.id).active is False
        assert db.session.scalar(select(LoginSession.ended_reason).where(
            LoginSession.user_id == user.id)) == "account disabled"
    assert not opens_account(replay(app, remember_token=saved))


def test_last_seen_is_written_at_most_once_a_minute(app, user):
    browser = login(app, user.email)
    with app.app_context():
        first = db.session.scalar(select(LoginSession.last_seen_at))
    browser.get("/account/")
    with app.app_context():
        assert db.session.scalar(select(LoginSession.last_seen_at)) == first
    age(app, user, last_seen_at=timedelta(seconds=61))
    browser.get("/account/")
    with app.app_context():
        assert db.session.scalar(select(LoginSession.last_seen_at)) > utcnow() - timedelta(5)


def test_the_operator_can_end_logins_of_one_user_or_everyone(app, user, staff):
    mine, theirs = login(app, user.email), login(app, staff.email)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "logout", user.email])
    assert result.exit_code == 0 and "Ended 1 logins of dreamer@example.com" in result.output
    assert not opens_account(mine) and opens_account(theirs)
    result = runner.invoke(args=["users", "logout", "--all"])
    assert result.exit_code == 0 and "Ended 1 logins." in result.output
    assert not opens_account(theirs)
    assert runner.invoke(args=["users", "logout"]).exit_code == 2


def test_every_login_gets_a_new_key(app, user):
    first, second = login(app, user.email), login(app, user.email)
    assert first.get_cookie("session").value != second.get_cookie("session").value
    with app.app_context():
        assert len(set(db.session.scalars(select(LoginSession.key_hash)))) == 2


def test_deleting_an_account_ends_its_logins(app, user, staff):
    browser = login(app, user.email, remember=True)
    saved = browser.get_cookie("remember_token").value
    login(app, staff.email).post(f"/admin/users/{user.id}/delete")
    with app.app_context():
        assert db.session.get(User, user.id) is None
        assert db.session.scalar(select(LoginSession).where(
            LoginSession.user_id == user.id)) is None
    assert not opens_account(replay(app, remember_token=saved))


def test_password_guesses_to_end_sessions_are_throttled(app, user):
    app.config.update(LOGIN_ATTEMPTS_PER_MINUTE=2)
    here, other = login(app, user.email), login(app, user.email)
    for _ in range(2):
        here.post("/account/sessions/end-others", data={"password": "guess"})
    page = here.post("/account/sessions/end-others", data={"password": PASSWORD},
                     follow_redirects=True).get_data(as_text=True)
    assert "Too many password attempts" in page and opens_account(other)
