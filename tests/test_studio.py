"""The studio without a worker: validation, pricing, bounds, cancel of queued tasks."""

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, User
from daydream.services.credits import ledger_total
from tests.conftest import SMALL


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def balance(app, user):
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert ledger_total(user.id) == fresh.tokens, "balance must equal the ledger"
        return fresh.tokens


def test_studio_needs_login(client):
    assert client.get("/studio/").status_code == 302


def test_empty_studio_shows_controls_and_empty_state(client, logged_in):
    page = client.get("/studio/").get_data(as_text=True)
    for text in ('id="prompt"', 'id="steps"', 'id="cfg_scale"', 'id="width"', 'id="height"',
                 'id="samples"', 'id="random_seed"', 'id="scheduler"', 'id="init_image"',
                 'id="strength"', 'id="help-toggle"', 'data-testid="empty-state"',
                 "DPM++ 2M Karras",
                 "demo model"):
        assert text in page


def test_submit_charges_and_queues(app, client, logged_in):
    before = balance(app, logged_in)
    response = client.post("/studio/tasks", data=SMALL)
    assert response.status_code == 202, response.json
    task = response.json["task"]
    assert task["state"] == "queued" and task["position"] == 1
    assert 0 <= task["seed"] <= 2**32 - 1
    assert task["cost"] >= 1 and response.json["credits"] == before - task["cost"]
    assert balance(app, logged_in) == before - task["cost"]
    assert 'data-testid="task-card"' in client.get("/studio/").get_data(as_text=True)


def test_given_seed_is_kept(client, logged_in):
    data = {**SMALL, "seed": "4294967295"}
    data.pop("random_seed")
    assert client.post("/studio/tasks", data=data).json["task"]["seed"] == 4294967295


def test_cost_grows_with_pixels_steps_and_samples(app, client, logged_in):
    small = client.post("/studio/tasks", data=SMALL).json["task"]["cost"]
    big = client.post("/studio/tasks", data={**SMALL, "width": "512", "height": "512",
                                             "steps": "20", "samples": "2"}).json["task"]["cost"]
    assert big == 20 and small == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prompt", "x" * 1001, "prompt must be at most 1000 characters"),
        ("negative_prompt", "x" * 1001, "negative_prompt must be at most 1000 characters"),
        ("width", "100", "width must be a multiple of 8"),
        ("height", "0", "height must be a multiple of 8"),
        ("width", "wide", "width must be a multiple of 8"),
        ("steps", "0", "steps must be a whole number between 1 and 100"),
        ("steps", "101", "steps must be a whole number between 1 and 100"),
        ("cfg_scale", "nan", "cfg_scale must be a number"),
        ("cfg_scale", "99", "cfg_scale must be a number"),
        ("samples", "5", "samples must be a whole number between 1 and 4"),
        ("seed", "-5", "seed must be empty"),
        ("seed", "4294967296", "seed must be empty"),
        ("scheduler", "Warp drive", "scheduler must be one of"),
    ],
)
def test_bad_parameters_are_refused_and_cost_nothing(app, client, logged_in, field, value,
                                                    message):
    before = balance(app, logged_in)
    data = {**SMALL, field: value}
    if field == "seed":
        data.pop("random_seed")
    response = client.post("/studio/tasks", data=data)
    assert response.status_code == 400
    assert message in response.json["error"]["message"]
    assert response.json["error"]["code"] == "invalid_parameters"
    assert balance(app, logged_in) == before
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_too_many_pixels(client, logged_in):
    response = client.post("/studio/tasks", data={**SMALL, "width": "768", "height": "768"})
    assert response.status_code == 400
    assert "at most 262144 pixels" in response.json["error"]["message"]


def test_bad_strength_for_img2img(client, logged_in, png_bytes):
    response = client.post("/studio/tasks", data={**SMALL, "strength": "1.5",
                                                  "init_image": (png_bytes(), "a.png")})
    assert response.status_code == 400
    assert "strength must be a number above 0" in response.json["error"]["message"]


def test_not_enough_credits(app, client, auth, make_user):
    poor = make_user("poor@example.com", tokens=0)
    auth.login(poor.email)
    response = client.post("/studio/tasks", data=SMALL)
    assert response.status_code == 402
    assert "needs 1 credits and you have 0" in response.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_per_user_bound(app, client, logged_in):
    app.config["QUEUE_MAX_PER_USER"] = 2
    assert client.post("/studio/tasks", data=SMALL).status_code == 202
    assert client.post("/studio/tasks", data=SMALL).status_code == 202
    before = balance(app, logged_in)
    refused = client.post("/studio/tasks", data=SMALL)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "2 unfinished tasks" in refused.json["error"]["message"]
    assert balance(app, logged_in) == before


def test_global_bound(app, client, auth, make_user):
    app.config["QUEUE_MAX"] = 2
    for email in ("one@example.com", "two@example.com", "three@example.com"):
        auth.login(make_user(email).email)
        response = client.post("/studio/tasks", data=SMALL)
        auth.logout()
    assert response.status_code == 503
    assert "queue is full" in response.json["error"]["message"]


def test_cancel_queued_task_refunds_once(app, client, logged_in):
    before = balance(app, logged_in)
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    cancelled = client.post(f"/studio/tasks/{task_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    again = client.post(f"/studio/tasks/{task_id}/cancel")
    assert again.status_code == 409
    assert balance(app, logged_in) == before
    assert client.get(f"/studio/tasks/{task_id}").json["state"] == "cancelled"


def test_fair_positions_between_users(app, client, auth, make_user):
    ids = {}
    for name, count in (("a", 2), ("b", 1)):
        auth.login(make_user(f"{name}@example.com").email)
        ids[name] = [client.post("/studio/tasks", data=SMALL).json["task"]["id"]
                     for _ in range(count)]
        auth.logout()
    auth.login("a@example.com")
    positions = [client.get(f"/studio/tasks/{i}").json["position"] for i in ids["a"]]
    assert positions == [1, 3], "b's only task goes before a's second"


def test_other_users_task_is_404(client, auth, make_user, logged_in):
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    auth.logout()
    auth.login(make_user("other@example.com").email)
    assert client.get(f"/studio/tasks/{task_id}").status_code == 404
    assert client.post(f"/studio/tasks/{task_id}/cancel").status_code == 404
    assert client.get(f"/studio/tasks/{task_id}.zip").status_code == 404


def test_timeline_shows_only_this_login_session(client, auth, logged_in):
    client.post("/studio/tasks", data=SMALL)
    auth.logout()
    auth.login(logged_in.email)
    page = client.get("/studio/").get_data(as_text=True)
    assert 'data-testid="task-card"' not in page
