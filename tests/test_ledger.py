"""The honest ledger: every kind its own, sum equals balance after every operation,
the user sees theirs with the running balance, CSV export."""

import csv
import io

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, Task, User
from daydream.services import admin, allowance, credits, lifecycle, vouchers
from tests.querycount import count_for


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_sum_equals_balance_after_every_operation(app, staff, make_user, make_task):
    person = make_user(credits=100)
    task = make_task(person, cost=10, state="running")
    app.config["DAILY_ALLOWANCE_USER"] = 400

    def check() -> int:
        fresh = db.session.get(User, person.id)
        db.session.refresh(fresh)
        assert credits.ledger_total(person.id) == fresh.credits
        last = db.session.scalars(select(CreditEntry).where(CreditEntry.user_id == person.id)
                                  .order_by(CreditEntry.id.desc())).first()
        assert last.balance_after == fresh.credits
        return fresh.credits

    with app.app_context():
        actor = db.session.get(User, staff.id)
        check()
        credits.charge(person.id, 10, task_id=task.id)
        db.session.commit()
        assert check() == 90
        assert lifecycle.mark_cancelled(db.session.get(Task, task.id), "stop", 5, 10)
        assert check() == 95
        admin.adjust_credits(db.session.get(User, person.id), 30, actor, "bonus")
        assert check() == 125
        admin.adjust_credits(db.session.get(User, person.id), -25, actor, "oops")
        assert check() == 100
        code = vouchers.create(actor, 50)[1]
        vouchers.redeem(person.id, code)
        assert check() == 150
        assert allowance.refill(db.session.get(User, person.id)) == 250
        assert check() == 400
        kinds = list(db.session.scalars(select(CreditEntry.kind).where(
            CreditEntry.user_id == person.id).order_by(CreditEntry.id)))
        assert kinds == ["signup", "charge", "refund", "grant", "revoke", "voucher",
                         "allowance"]


def test_staff_entries_name_who_and_why(app, staff, user):
    with app.app_context():
        admin.adjust_credits(db.session.get(User, user.id), -5, db.session.get(User, staff.id),
                             "duplicate grant")
        entry = db.session.scalars(select(CreditEntry).order_by(CreditEntry.id.desc())).first()
        assert entry.kind == EntryKind.REVOKE.value and entry.delta == -5
        assert entry.actor_id == staff.id and entry.note == "duplicate grant"
        assert entry.label == "Removed by staff"


def test_user_sees_their_ledger_with_running_balance_and_pages(app, client, auth, user):
    with app.app_context():
        for _ in range(30):
            credits.charge(user.id, 1)
        db.session.commit()
    auth.login(user.email)
    page = client.get("/account/?tab=credits").get_data(as_text=True)
    start = app.config["STARTING_CREDITS"]
    assert page.count('data-testid="ledger-row"') == 25
    assert f'data-testid="ledger-balance">{start - 30}<' in page
    assert "Page 1 of 2" in page
    older = client.get("/account/?tab=credits&page=2").get_data(as_text=True)
    assert older.count('data-testid="ledger-row"') == 6
    assert "Starting credits" in older


def test_user_downloads_their_ledger_as_csv(app, client, auth, user, make_user):
    other = make_user("other@example.com")
    with app.app_context():
        credits.credit(user.id, 7, EntryKind.GRANT, note="=HYPERLINK(\"x\")")
        db.session.commit()
    auth.login(user.email)
    response = client.get("/account/ledger.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["kind"] for row in rows] == ["signup", "grant"]
    assert rows[-1]["balance"] == str(app.config["STARTING_CREDITS"] + 7)
    assert rows[-1]["note"].startswith("'="), "no formula injection into spreadsheets"
    assert other.email not in response.get_data(as_text=True)


def test_ledger_page_queries_do_not_grow_with_its_rows(app, client, auth, user, make_task):
    """The credits tab names each row's task: one query for all of them, not one per row."""
    def charge_tasks(count: int):
        made = [make_task(user) for _ in range(count)]
        with app.app_context():
            for task in made:
                credits.charge(user.id, 1, task_id=task.id)
            db.session.commit()
        return made[-1]

    auth.login(user.email)
    charge_tasks(1)
    few = count_for(app, client, "/account/?tab=credits")
    task = charge_tasks(23)
    assert count_for(app, client, "/account/?tab=credits") == few
    page = client.get("/account/?tab=credits").get_data(as_text=True)
    assert page.count('data-testid="ledger-row"') == 25 and task.uuid[:8] in page
