"""The operator's sign-up policy: open, voucher or closed."""

from sqlalchemy import select

from daydream.extensions import db
from daydream.models import User
from daydream.services import vouchers
from tests.conftest import PASSWORD


def register(client, email="new@example.com", **extra):
    return client.post("/auth/register", data={"email": email, "password": PASSWORD,
                                               "confirm": PASSWORD, **extra})


def a_code(app, staff, max_uses=1, amount=25):
    with app.app_context():
        return vouchers.create(db.session.get(User, staff.id), amount, max_uses)[1]


def accounts(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(User.email).order_by(User.id)))


def test_open_policy_needs_no_voucher(app, client):
    assert b"Voucher code" not in client.get("/auth/register").data
    assert register(client).status_code == 302
    assert accounts(app) == ["new@example.com"]


def test_closed_policy_refuses_with_a_clear_page(app, client):
    app.config["SIGNUP_POLICY"] = "closed"
    page = client.get("/auth/register")
    assert page.status_code == 403 and b"Sign-ups are closed" in page.data
    assert register(client).status_code == 403
    assert accounts(app) == []
    assert b'href="/auth/register"' not in client.get("/").data


def test_voucher_policy_needs_a_valid_code_and_redeems_it(app, client, staff):
    app.config["SIGNUP_POLICY"] = "voucher"
    code = a_code(app, staff, amount=25)
    assert b"Voucher code" in client.get("/auth/register").data
    missing = register(client)
    assert missing.status_code == 400 and b"Enter the voucher code you were given." in missing.data
    guessed = register(client, voucher="DD-NOPE-NOPE-NOPE-NOPE")
    assert guessed.status_code == 400 and b"This voucher code is not valid." in guessed.data
    assert accounts(app) == [staff.email]
    assert register(client, voucher=code).status_code == 302
    with app.app_context():
        person = db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert person.credits == app.config["STARTING_CREDITS"] + 25


def test_a_used_up_voucher_lets_nobody_else_in(app, client, staff):
    app.config["SIGNUP_POLICY"] = "voucher"
    code = a_code(app, staff, max_uses=1)
    assert register(client, "first@example.com", voucher=code).status_code == 302
    client.post("/auth/logout")
    refused = register(client, "second@example.com", voucher=code)
    assert refused.status_code == 400 and b"This voucher code has been used up." in refused.data
    assert accounts(app) == [staff.email, "first@example.com"]


def test_bad_policy_setting_is_refused(monkeypatch):
    import pytest

    from daydream.config import Config, ConfigError

    monkeypatch.setenv("DAYDREAM_SIGNUP_POLICY", "sometimes")
    with pytest.raises(ConfigError, match="DAYDREAM_SIGNUP_POLICY must be one of open"):
        Config.from_env()
