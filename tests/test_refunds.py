"""Fair refunds: a cancelled running task keeps the share of steps that ran (by setting);
queued cancels and failures are refunded in full."""

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind, Task, User
from daydream.services import lifecycle
from daydream.services.credits import ledger_total
from tests.conftest import SMALL, wait_for

LONG = {**SMALL, "steps": "100", "width": "128", "height": "128"}


@pytest.fixture
def step_pricing(app):
    """One credit per step of a 128×128 image, so a cancel leaves a visible share."""
    app.config["CREDIT_PIXEL_STEPS"] = 128 * 128


@pytest.mark.parametrize(("setting", "done", "total", "cost", "refund"), [
    ("unused", 34, 40, 10, 2),   # 8.5 credits used, rounded in the user's favour
    ("unused", 20, 40, 10, 5),
    ("unused", 0, 40, 10, 10),   # nothing ran yet
    ("unused", 40, 40, 10, 0),
    ("unused", 1, 3, 1, 1),      # 0.33 of a credit used: nothing kept
    ("all", 34, 40, 10, 10),
])
def test_cancel_refund_follows_the_setting(app, setting, done, total, cost, refund):
    app.config["CANCEL_REFUND"] = setting
    with app.app_context():
        assert lifecycle.cancel_refund(cost, done, total) == refund


def credits_of(app, user) -> int:
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance
        return balance


def cancel_after_some_steps(client, minimum_step: int = 3) -> dict:
    task_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{task_id}").json["progress"]["step"]
             >= minimum_step)
    assert client.post(f"/studio/tasks/{task_id}/cancel").status_code == 200
    return wait_for(lambda: (s := client.get(f"/studio/tasks/{task_id}").json)["state"]
                    == "cancelled" and s)


def test_cancel_while_running_refunds_the_unused_steps(app, client, auth, user, worker,
                                                       step_pricing):
    auth.login(user.email)
    before = credits_of(app, user)
    status = cancel_after_some_steps(client)
    assert 0 < status["refunded"] < status["cost"]
    assert status["error"].startswith("Cancelled at step ")
    assert f"{status['refunded']} of {status['cost']} credits refunded" in status["error"]
    assert credits_of(app, user) == before - status["cost"] + status["refunded"]
    with app.app_context():
        refund = db.session.scalar(select(CreditEntry).where(
            CreditEntry.kind == EntryKind.REFUND.value))
        assert refund.delta == status["refunded"]
    card = client.get(f"/studio/tasks/{status['id']}/card").get_data(as_text=True)
    assert f"{status['refunded']} refunded" in card


def test_operator_may_refund_everything_on_cancel(app, client, auth, user, worker,
                                                  step_pricing):
    app.config["CANCEL_REFUND"] = "all"
    auth.login(user.email)
    before = credits_of(app, user)
    status = cancel_after_some_steps(client)
    assert status["refunded"] == status["cost"]
    assert credits_of(app, user) == before


def test_queued_cancel_and_failure_refund_in_full(app, client, auth, user, step_pricing):
    auth.login(user.email)
    before = credits_of(app, user)
    task_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    status = client.post(f"/studio/tasks/{task_id}/cancel").json
    assert status["state"] == "cancelled" and status["refunded"] == status["cost"]
    failing_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    with app.app_context():
        task = db.session.scalar(select(Task).where(Task.uuid == failing_id))
        assert lifecycle.mark_failed(task, "The GPU caught fire.")
        assert task.refunded == task.cost
    assert credits_of(app, user) == before
