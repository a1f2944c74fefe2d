"""The credit ledger, on SQLite and PostgreSQL: balances never go negative."""

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, User
from daydream.services import credits

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_signup_grant_is_in_the_ledger(app, user):
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert fresh.credits == app.config["STARTING_CREDITS"]
        assert credits.ledger_total(user.id) == fresh.credits


def test_charge_and_refund(app, make_user):
    user = make_user(credits=100)
    with app.app_context():
        credits.charge(user.id, 30)
        credits.credit(user.id, 30, EntryKind.REFUND)
        db.session.commit()
        assert db.session.get(User, user.id).credits == 100
        assert credits.ledger_total(user.id) == 100
        kinds = [e.kind for e in db.session.scalars(
            select(CreditEntry).where(CreditEntry.user_id == user.id).order_by(CreditEntry.id))]
        assert kinds == ["signup", "charge", "refund"]


def test_charge_beyond_balance_changes_nothing(app, make_user):
    user = make_user(credits=10)
    with app.app_context():
        with pytest.raises(credits.InsufficientCredits, match="needs 11 credits and you have 10"):
            credits.charge(user.id, 11)
        db.session.rollback()
        assert db.session.get(User, user.id).credits == 10
        assert credits.ledger_total(user.id) == 10


def test_balance_cannot_go_negative_even_by_hand(app, make_user):
    user = make_user(credits=5)
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(update(User).where(User.id == user.id).values(credits=-1))
            db.session.flush()
        db.session.rollback()


def test_concurrent_charges_never_overdraw(app, make_user):
    user = make_user(credits=100)
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def spend() -> None:
        with app.app_context():
            start.wait()
            try:
                credits.charge(user.id, 10)
                db.session.commit()
                result = "charged"
            except credits.InsufficientCredits:
                db.session.rollback()
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["charged"] * 10 + ["refused"] * 10
    with app.app_context():
        assert db.session.get(User, user.id).credits == 0
        assert credits.ledger_total(user.id) == 0
