"""Voucher codes: staff create them, users redeem them once, never beyond their uses."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import User, Voucher
from daydream.models.base import utcnow
from daydream.services import credits, vouchers


def make_voucher(app, staff, amount=50, max_uses=1, expires_at=None):
    with app.app_context():
        voucher, code = vouchers.create(db.session.get(User, staff.id), amount, max_uses,
                                        expires_at, "test")
        return voucher.id, code


def redeem_page(client, code):
    return client.post("/account/voucher", data={"voucher-code": code})


def test_staff_create_a_voucher_and_see_the_code_once(app, client, auth, staff):
    auth.login(staff.email)
    response = client.post("/admin/vouchers", data={"amount": "75", "max_uses": "3",
                                                    "note": "workshop"})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    code = page.split('data-testid="new-voucher-code">')[1].split("<")[0]
    assert code.startswith("DD-") and len(vouchers.normalize(code)) == 18
    listing = client.get("/admin/vouchers").get_data(as_text=True)
    assert code not in listing and "workshop" in listing and "0 / 3" in listing
    with app.app_context():
        stored = db.session.scalar(select(Voucher))
        # Hashed at rest: the table alone gives away no usable code.
        assert stored.code_hash == vouchers.code_hash(code) and code not in stored.code_hash


def test_voucher_form_refuses_bad_input(client, auth, staff):
    auth.login(staff.email)
    response = client.post("/admin/vouchers", data={"amount": "0", "max_uses": "1"})
    assert response.status_code == 400 and b"Between 1 and 1,000,000." in response.data


def test_user_redeems_and_sees_the_balance(app, client, auth, staff, user):
    _, code = make_voucher(app, staff, amount=120)
    auth.login(user.email)
    response = redeem_page(client, code.lower().replace("-", " "))  # forgiving typing
    assert response.status_code == 303
    page = client.get("/account/?tab=credits").get_data(as_text=True)
    expected = app.config["STARTING_CREDITS"] + 120
    assert f'data-testid="credits-balance">{expected}<' in page
    assert "Voucher redeemed: 120 credits added." in page and 'data-kind="voucher"' in page
    with app.app_context():
        assert credits.ledger_total(user.id) == expected


@pytest.mark.parametrize("case, message", [
    ("twice", "You have already redeemed this voucher code."),
    ("expired", "This voucher code has expired."),
    ("used_up", "This voucher code has been used up."),
    ("guessed", "This voucher code is not valid."),
    ("revoked", "This voucher code has been used up."),
])
def test_refused_codes_say_why_and_add_nothing(app, client, auth, staff, user, make_user,
                                               case, message):
    voucher_id, code = make_voucher(app, staff, amount=40)
    if case == "twice":
        with app.app_context():
            vouchers.redeem(user.id, code)
    elif case == "expired":
        with app.app_context():
            db.session.get(Voucher, voucher_id).expires_at = utcnow() - timedelta(seconds=1)
            db.session.commit()
    elif case == "used_up":
        with app.app_context():
            vouchers.redeem(make_user().id, code)
    elif case == "guessed":
        code = "DD-AAAA-BBBB-CCCC-DDDD"
    elif case == "revoked":
        auth.login(staff.email)
        client.post(f"/admin/vouchers/{voucher_id}/revoke")
        auth.logout()
    with app.app_context():
        before = db.session.get(User, user.id).credits
    auth.login(user.email)
    response = redeem_page(client, code)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).credits == before
        assert credits.ledger_total(user.id) == before


def test_redemption_is_throttled(app, client, auth, user):
    app.config.update(VOUCHER_ATTEMPTS_PER_MINUTE=3, RATE_LIMIT_NAMESPACE="voucher-test")
    auth.login(user.email)
    for _ in range(3):
        assert redeem_page(client, "DD-GUES-SGUE-SSGU-ESSS").status_code == 400
    blocked = redeem_page(client, "DD-GUES-SGUE-SSGU-ESSS")
    assert blocked.status_code == 429
    assert b"Too many voucher attempts" in blocked.data


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_100_simultaneous_redemptions_allow_exactly_the_uses(app, staff, make_user):
    allowed = 37
    _, code = make_voucher(app, staff, amount=10, max_uses=allowed)
    people = [make_user(f"racer{index}@example.com", credits=0) for index in range(100)]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(people))

    def attempt(person) -> None:
        with app.app_context():
            start.wait()
            try:
                vouchers.redeem(person.id, code)
                result = "redeemed"
            except vouchers.VoucherError:
                db.session.rollback()
                result = "refused"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("redeemed") == allowed and outcomes.count("refused") == 100 - allowed
    with app.app_context():
        assert db.session.scalar(select(Voucher.uses)) == allowed
        balances = [db.session.get(User, person.id).credits for person in people]
        assert sorted(balances) == [0] * (100 - allowed) + [10] * allowed
        assert all(credits.ledger_total(person.id) == balance
                   for person, balance in zip(people, balances, strict=True))


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_one_person_racing_themselves_redeems_once(app, staff, make_user):
    _, code = make_voucher(app, staff, amount=10, max_uses=50)
    person = make_user(credits=0)
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def attempt() -> None:
        with app.app_context():
            start.wait()
            try:
                vouchers.redeem(person.id, code)
                outcomes.append("redeemed")
            except vouchers.VoucherError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("redeemed") == 1
    with app.app_context():
        assert db.session.get(User, person.id).credits == 10
        assert credits.ledger_total(person.id) == 10
