"""Passwords: equal work for unknown emails, common passwords refused, rehash on login."""

import statistics
import time

from sqlalchemy import select

from daydream.extensions import db
from daydream.models import User
from daydream.services.passwords import common_passwords, password_problem
from tests.conftest import PASSWORD


def test_login_takes_as_long_for_an_unknown_email_as_for_a_known_one(app, client, make_user):
    # Finding 4: an unknown email hashed twice (342 ms against 174 ms), telling who has an
    # account. Real-sized hashes here so the hash, not the request overhead, dominates.
    app.config.update(ARGON2_TIME_COST=2, ARGON2_MEMORY_COST=8192,
                      LOGIN_ATTEMPTS_PER_MINUTE=0, LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR=0)
    user = make_user("known@example.com")

    def timed(email: str) -> float:
        start = time.perf_counter()
        assert client.post("/auth/login",
                           data={"email": email, "password": "wrong guess"}).status_code == 401
        return time.perf_counter() - start

    timed("warm-up@example.com"), timed(user.email)
    known, unknown = [], []
    for _ in range(15):
        known.append(timed(user.email))
        unknown.append(timed("nobody@example.com"))
    known_ms, unknown_ms = statistics.median(known) * 1000, statistics.median(unknown) * 1000
    print(f"login medians: known email {known_ms:.1f} ms, unknown email {unknown_ms:.1f} ms")
    assert 0.75 < unknown_ms / known_ms < 1.33


def test_sign_up_costs_the_same_for_a_taken_email(app, client, user, monkeypatch):
    from daydream.services import users

    hashed = []
    monkeypatch.setattr(users, "hash_password",
                        lambda password: hashed.append(password) or f"hash:{password}")
    for email in ("dreamer@example.com", "fresh@example.com"):
        client.post("/auth/register", data={"email": email, "password": "a fine passphrase",
                                            "confirm": "a fine passphrase"})
    assert hashed == ["a fine passphrase", "a fine passphrase"], "one hash on each path"


def test_the_common_password_list_is_shipped():
    listed = common_passwords()
    assert len(listed) > 19_000
    assert {"password", "qwertyuiop", "iloveyou"} <= listed


def test_common_passwords_are_refused_at_sign_up(app, client):
    response = client.post("/auth/register", data={
        "email": "new@example.com", "password": "Password1", "confirm": "Password1"})
    assert response.status_code == 400
    assert b"one of the most common passwords" in response.data
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_common_passwords_are_refused_on_change(client, auth, user):
    auth.login(user.email)
    response = client.post("/account/password", data={
        "password-current_password": PASSWORD, "password-new_password": "qwertyuiop",
        "password-confirm": "qwertyuiop"})
    assert response.status_code == 400
    assert b"one of the most common passwords" in response.data


def test_an_uncommon_passphrase_is_fine():
    assert password_problem("violet tractor sings slowly") is None


def test_login_rehashes_when_the_parameters_change(app, auth, user):
    old_hash = user.password_hash
    assert ",t=1," in old_hash
    app.config.update(ARGON2_TIME_COST=2)
    assert auth.login(user.email).status_code == 302
    with app.app_context():
        new_hash = db.session.get(User, user.id).password_hash
    assert new_hash != old_hash and ",t=2," in new_hash and new_hash.startswith("$argon2id$")
    app.config.update(ARGON2_TIME_COST=1)
    auth.logout()
    assert auth.login(user.email, "not it").status_code == 401
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == new_hash, "only on success"


def test_passwords_built_on_the_account_or_site_name_are_refused(client):
    response = client.post("/auth/register", data={
        "email": "moonwalker@example.com", "username": "stargazer",
        "password": "Moonwalker 1999", "confirm": "Moonwalker 1999"})
    assert b"Leave your email, your username and the site&#39;s name out" in response.data
    assert password_problem("my stargazer pass", ("moonwalker", "stargazer")) is not None
    assert password_problem("i love daydream!") is not None
    assert password_problem("violet tractor sings", ("moonwalker", None)) is None
