"""The daily allowance: once a day, a balance below the cap is refilled up to it."""

import threading
from datetime import date, timedelta

import pytest

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, User
from daydream.services import allowance
from daydream.services.credits import ledger_total


def balance(app, user) -> int:
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance
        return balance


def test_no_allowance_by_default(app, client, auth, make_user):
    person = make_user(credits=3)
    auth.login(person.email)
    client.get("/account/")
    assert balance(app, person) == 3


def test_refills_up_to_the_role_cap_once_a_day(app, client, auth, make_user):
    app.config["DAILY_ALLOWANCE_USER"] = 100
    person = make_user(credits=30)
    auth.login(person.email)
    client.get("/account/")
    assert balance(app, person) == 100
    with app.app_context():
        entry = db.session.query(CreditEntry).filter_by(kind=EntryKind.ALLOWANCE.value).one()
        assert entry.delta == 70 and entry.note == "refill up to 100"
        db.session.execute(db.update(User).where(User.id == person.id).values(credits=60))
        db.session.add(CreditEntry(user_id=person.id, delta=-40, balance_after=60,
                                   kind=EntryKind.CHARGE.value))
        db.session.commit()
    client.get("/account/")
    assert balance(app, person) == 60, "one refill a day"
    with app.app_context():
        db.session.execute(db.update(User).where(User.id == person.id).values(
            allowance_on=date.today() - timedelta(days=1)))
        db.session.commit()
    client.get("/account/")
    assert balance(app, person) == 100, "the next day it refills again"


def test_a_balance_above_the_cap_is_kept(app, client, auth, make_user):
    app.config["DAILY_ALLOWANCE_USER"] = 100
    person = make_user(credits=250)
    auth.login(person.email)
    client.get("/account/")
    assert balance(app, person) == 250


def test_per_user_cap_overrides_the_role(app, client, auth, staff, make_user):
    app.config.update(DAILY_ALLOWANCE_USER=100, DAILY_ALLOWANCE_STAFF=1000)
    person = make_user(credits=0)
    with app.app_context():
        db.session.get(User, person.id).daily_allowance = 20
        db.session.commit()
        assert allowance.cap_for(db.session.get(User, staff.id)) == 1000
    auth.login(person.email)
    client.get("/")
    assert balance(app, person) == 20


def test_api_submissions_refill_too(app, make_user):
    app.config["DAILY_ALLOWANCE_USER"] = 50
    person = make_user(credits=0)
    with app.app_context():
        from daydream.services import tasks

        task = tasks.submit(db.session.get(User, person.id),
                            {"prompt": "x", "width": 64, "height": 64, "steps": 2},
                            source="api")
        assert task.cost >= 1
    assert balance(app, person) == 50 - task.cost


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_simultaneous_requests_refill_once(app, make_user):
    app.config["DAILY_ALLOWANCE_USER"] = 100
    person = make_user(credits=0)
    start = threading.Barrier(10)
    added: list[int] = []

    def visit() -> None:
        with app.app_context():
            start.wait()
            added.append(allowance.refill(db.session.get(User, person.id)))
            db.session.remove()

    threads = [threading.Thread(target=visit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(added) == [0] * 9 + [100]
    assert balance(app, person) == 100
