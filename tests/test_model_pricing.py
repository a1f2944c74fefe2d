"""A model's price factor in what a task costs: quotes, charges, the ledger and refunds."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from daydream.engine.demo import DEMO_NAME
from daydream.extensions import db
from daydream.generation import work
from daydream.models import CreditEntry, EntryKind, Task, User
from daydream.services import lifecycle, model_settings
from daydream.services.credits import ledger_total
from tests.conftest import SMALL, wait_for
from tests.model_library import XL, any_enabled_model_runs, library_settings

# One credit per step of a 128×128 image: 100 steps cost 100 credits at price factor 1.
LONG = {**SMALL, "steps": "100", "width": "128", "height": "128"}
VALUES = {"width": 128, "height": 128, "steps": 10, "samples": 1, "n_iter": 1}


@pytest.fixture
def app_settings(app_settings: dict, tmp_path) -> dict:
    library_settings(app_settings, tmp_path)
    app_settings["CREDIT_PIXEL_STEPS"] = 128 * 128
    return app_settings


def price(app, staff, name: str, factor: float) -> None:
    """Staff set a model's price factor (as the admin page does)."""
    with app.app_context():
        entry = model_settings.current().get(name)
        model_settings.edit(db.session.get(User, staff.id), name, model_settings.Edit(
            entry.title, entry.width, entry.height, factor))


def credits_of(app, user) -> int:
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance
        return balance


@pytest.mark.parametrize(("factor", "expected"), [
    (1.0, 10), (1.1, 11), (2.5, 25), (0.25, 3), (0.01, 1), (3, 30)])
def test_cost_is_multiplied_by_the_price_factor_and_rounded_up(factor, expected):
    assert work.cost(VALUES, "txt2img", 128 * 128) == 10
    assert work.cost(VALUES, "txt2img", 128 * 128, factor) == expected


def test_a_tiny_task_on_a_dear_model_costs_more_than_one_credit():
    assert work.cost({**VALUES, "steps": 1, "width": 64}, "txt2img", 10**9, 2.5) == 3


def test_studio_quote_charge_and_queued_refund_follow_the_price(app, client, auth, user,
                                                                staff):
    auth.login(user.email)
    start = credits_of(app, user)
    plain = client.post("/studio/quote", data=LONG).json
    assert plain["cost"] == 100 and plain["model"]["price_factor"] == 1
    price(app, staff, DEMO_NAME, 1.5)
    quoted = client.post("/studio/quote", data=LONG).json
    assert quoted["cost"] == 150
    assert quoted["model"] == {"name": DEMO_NAME, "title": DEMO_NAME, "price_factor": 1.5}
    task = client.post("/studio/tasks", data=LONG).json["task"]
    assert task["cost"] == 150 and task["model"] == DEMO_NAME
    assert credits_of(app, user) == start - 150
    # The price is fixed at submission: a later change does not touch a queued task.
    price(app, staff, DEMO_NAME, 4)
    status = client.post(f"/studio/tasks/{task['id']}/cancel").json
    assert status["state"] == "cancelled" and status["refunded"] == 150
    assert credits_of(app, user) == start
    with app.app_context():
        kinds = [(e.kind, e.delta) for e in db.session.scalars(
            select(CreditEntry).where(CreditEntry.user_id == user.id,
                                      CreditEntry.task_id.is_not(None)))]
    assert kinds == [(EntryKind.CHARGE.value, -150), (EntryKind.REFUND.value, 150)]


def test_a_failure_refunds_the_whole_priced_cost(app, client, auth, user, staff):
    price(app, staff, DEMO_NAME, 2)
    auth.login(user.email)
    start = credits_of(app, user)
    task_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    with app.app_context():
        task = db.session.scalar(select(Task).where(Task.uuid == task_id))
        assert task.cost == 200 and task.model == DEMO_NAME
        assert lifecycle.mark_failed(task, "The GPU caught fire.")
        assert task.refunded == 200
    assert credits_of(app, user) == start


def test_a_running_task_cancelled_keeps_its_share_of_the_priced_cost(app, client, auth, user,
                                                                     staff, worker):
    price(app, staff, DEMO_NAME, 1.5)
    auth.login(user.email)
    start = credits_of(app, user)
    task_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{task_id}").json["progress"]["step"] >= 3)
    client.post(f"/studio/tasks/{task_id}/cancel")
    status = wait_for(lambda: (s := client.get(f"/studio/tasks/{task_id}").json)["state"]
                      == "cancelled" and s)
    assert status["cost"] == 150 and 0 < status["refunded"] < 150
    done, total = map(int, re.match(r"Cancelled at step (\d+) of (\d+)",
                                    status["error"]).groups())
    with app.app_context():
        assert status["refunded"] == lifecycle.cancel_refund(150, done, total)
    assert credits_of(app, user) == start - 150 + status["refunded"]


def test_api_dry_run_and_task_report_the_model_and_its_price(app, client, user, staff):
    from daydream.services import apikeys

    with app.app_context():
        key = apikeys.create_key(db.session.get(User, user.id), "script")[1]
    headers = {"Authorization": f"Bearer {key}"}
    price(app, staff, DEMO_NAME, 3)
    body = {"prompt": "a fox", "width": 128, "height": 128, "steps": 10}
    dry = client.post("/api/v1/tasks", json={**body, "dry_run": True}, headers=headers).json
    assert dry["cost"] == 30 and dry["model"]["price_factor"] == 3
    task = client.post("/api/v1/tasks", json={**body, "model": DEMO_NAME}, headers=headers)
    assert task.status_code == 202 and task.json["cost"] == 30
    assert task.json["model"] == DEMO_NAME
    again = client.get(f"/api/v1/tasks/{task.json['id']}", headers=headers).json
    assert again["model"] == DEMO_NAME and again["cost"] == 30


@pytest.mark.skipif(not any_enabled_model_runs(),
                    reason="a second model runs once per-task model choice lands (mworker)")
def test_a_second_model_is_priced_by_its_own_factor(app, client, auth, user, staff):
    price(app, staff, XL, 4)
    auth.login(user.email)
    quoted = client.post("/studio/quote", data={**LONG, "model": XL}).json
    assert quoted["cost"] == 400 and quoted["model"]["name"] == XL
    task = client.post("/studio/tasks", data={**LONG, "model": XL}).json["task"]
    assert task["cost"] == 400 and task["model"] == XL


def test_the_service_takes_a_models_name_too(app, user, staff):
    from daydream.engine.errors import ParamError
    from daydream.services import tasks

    price(app, staff, DEMO_NAME, 2)
    data = {"prompt": "a fox", "width": 128, "height": 128, "steps": 10}
    with app.app_context():
        person = db.session.get(User, user.id)
        assert tasks.submit(person, data, model=DEMO_NAME).cost == 20
        with pytest.raises(ParamError, match="'nope' is not an enabled model"):
            tasks.submit(person, data, model="nope")
