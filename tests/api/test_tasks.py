"""Submitting, checking, listing and cancelling tasks through /api/v1 (no worker running)."""

import base64

import pytest
from sqlalchemy import func, select

from daydream.extensions import db
from daydream.models import Task, User
from daydream.services.credits import ledger_total
from tests.api.conftest import TINY, bearer


def balance(app, user) -> int:
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance, "balance must equal the ledger"
        return balance


def task_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Task.id)))


def test_submit_answers_202_with_id_state_position_eta_cost(app, client, user, headers):
    before = balance(app, user)
    response = client.post("/api/v1/tasks", json=TINY, headers=headers)
    assert response.status_code == 202, response.json
    task = response.json
    assert task["state"] == "queued" and task["position"] == 1 and task["eta"] > 0
    assert task["cost"] == 1 and balance(app, user) == before - 1
    assert task["source"] == "api" and 0 <= task["seed"] <= 2**32 - 1
    assert response.headers["Location"] == f"/api/v1/tasks/{task['id']}"
    with app.app_context():
        assert db.session.scalar(select(Task.source)) == "api"


def test_every_studio_parameter_is_accepted(client, headers):
    body = {"prompt": "p", "negative_prompt": "n", "width": 128, "height": 64, "steps": 3,
            "cfg_scale": 6.5, "samples": 2, "seed": 4294967295, "scheduler": "DPM++ 2M Karras",
            "strength": 0.5}
    task = client.post("/api/v1/tasks", json=body, headers=headers).json
    for name, value in body.items():
        if name != "strength":
            assert task[name] == value, name
    assert task["mode"] == "txt2img" and task["strength"] is None


def test_seed_minus_one_or_null_is_random(client, headers):
    for seed in (-1, None):
        task = client.post("/api/v1/tasks", json={**TINY, "seed": seed}, headers=headers).json
        assert 0 <= task["seed"] <= 2**32 - 1


def test_img2img_with_base64_init_image(client, headers, png_bytes):
    encoded = base64.b64encode(png_bytes().read()).decode()
    for init in (encoded, "data:image/png;base64," + encoded):
        response = client.post("/api/v1/tasks", json={**TINY, "init_image": init,
                                                      "strength": 0.5}, headers=headers)
        assert response.status_code == 202, response.json
        assert response.json["mode"] == "img2img" and response.json["strength"] == 0.5


def test_dry_run_prices_without_charging(app, client, user, headers):
    before = balance(app, user)
    response = client.post("/api/v1/tasks", json={**TINY, "dry_run": True, "width": 512,
                                                  "height": 512, "steps": 20}, headers=headers)
    assert response.status_code == 200
    quote = response.json
    assert quote["dry_run"] is True and quote["cost"] == 10 and quote["eta"] > 0
    assert quote["affordable"] is True and quote["credits"] == before
    assert balance(app, user) == before and task_count(app) == 0


def test_dry_run_says_when_credits_do_not_cover_it(client, make_user, make_key):
    poor = make_user("poor@example.com", credits=0)
    quote = client.post("/api/v1/tasks", json={**TINY, "dry_run": True},
                        headers=bearer(make_key(poor))).json
    assert quote["affordable"] is False and quote["credits"] == 0


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"width": 100}, "width", "width must be a multiple of 8"),
    ({"width": 8}, "width", "width must be at least 64"),
    ({"steps": 0}, "steps", "steps must be at least 1"),
    ({"steps": 10**40}, "steps", "steps must be at most 100"),
    ({"steps": "many"}, "steps", "steps must be a whole number, not a string"),
    ({"steps": 2.5}, "steps", "steps must be a whole number"),
    ({"cfg_scale": 1e308}, "cfg_scale", "cfg_scale must be at most 30"),
    ({"cfg_scale": True}, "cfg_scale", "cfg_scale must be a number"),
    ({"samples": 5}, "samples", "samples must be at most 4"),
    ({"seed": 2**32}, "seed", "seed must be at most 4294967295"),
    ({"seed": -2}, "seed", "seed must be at least -1"),
    ({"scheduler": "Warp drive"}, "scheduler", "scheduler must be one of: Euler a"),
    ({"strength": 0}, "strength", "strength must be above 0"),
    ({"prompt": None}, "prompt", "prompt must be text, not null"),
    ({"prompt": ["a", "b"]}, "prompt", "prompt must be text, not an array"),
    ({"prompt": "x" * 1001}, "prompt", "prompt must be at most 1000 characters"),
    ({"width": {"nested": [1]}}, "width", "width must be a whole number, not an object"),
    ({"colour": "blue"}, "colour", "colour is not a known parameter"),
    ({"dry_run": "yes"}, "dry_run", "dry_run must be true or false"),
    ({"width": 1024, "height": 1024}, "size", "width × height must be at most 262144 pixels"),
])
def test_invalid_parameters_get_400_naming_the_field(app, client, user, headers, body, field,
                                                     message):
    before = balance(app, user)
    response = client.post("/api/v1/tasks", json={**TINY, **body}, headers=headers)
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "invalid_parameters"
    assert message in error["details"][field] and message in error["message"]
    assert balance(app, user) == before and task_count(app) == 0


def test_missing_prompt_is_named(client, headers):
    response = client.post("/api/v1/tasks", json={"steps": 2}, headers=headers)
    assert response.json["error"]["details"] == {"prompt": "prompt is required"}


@pytest.mark.parametrize("raw", [
    b"", b"{", b'{"prompt": NaN}', b'{"prompt": "a", "cfg_scale": Infinity}', b"[1, 2]",
    b'"just text"', b"null", b"\xff\xfe\x00garbage", b"[" * 100_000 + b"]" * 100_000,
])
def test_malformed_json_gets_400(client, headers, raw):
    response = client.post("/api/v1/tasks", data=raw, headers={
        **headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(("init", "message"), [
    ("not base64 at all!", "init_image is not valid base64"),
    (base64.b64encode(b"plain text, not a picture").decode(), "not an image we can read"),
    ("data:image/png;base64,", "init_image is empty"),
])
def test_bad_init_images_get_400(app, client, user, headers, init, message):
    before = balance(app, user)
    response = client.post("/api/v1/tasks", json={**TINY, "init_image": init},
                           headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_image"
    assert message in response.json["error"]["details"]["init_image"]
    assert balance(app, user) == before


def test_too_large_body_gets_413(app, client, headers):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/v1/tasks", json={**TINY, "init_image": "A" * 2000},
                           headers=headers)
    assert response.status_code == 413 and response.json["error"]["code"]


def test_not_enough_credits_is_402_and_charges_nothing(app, client, make_user, make_key):
    poor = make_user("poor@example.com", credits=0)
    response = client.post("/api/v1/tasks", json=TINY, headers=bearer(make_key(poor)))
    assert response.status_code == 402
    assert response.json["error"]["code"] == "insufficient_credits"
    assert task_count(app) == 0


def test_per_user_bound_is_429_with_retry_after(app, client, headers):
    app.config["QUEUE_MAX_PER_USER"] = 1
    assert client.post("/api/v1/tasks", json=TINY, headers=headers).status_code == 202
    refused = client.post("/api/v1/tasks", json=TINY, headers=headers)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.json["error"]["code"] == "too_many_tasks"


def test_full_queue_is_503_with_retry_after(app, client, make_user, make_key):
    app.config["QUEUE_MAX"] = 1
    first, second = (bearer(make_key(make_user(f"{n}@example.com"))) for n in ("a", "b"))
    assert client.post("/api/v1/tasks", json=TINY, headers=first).status_code == 202
    refused = client.post("/api/v1/tasks", json=TINY, headers=second)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.json["error"]["code"] == "queue_full"


def test_check_a_task(client, headers):
    task_id = client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
    task = client.get(f"/api/v1/tasks/{task_id}", headers=headers).json
    assert task["id"] == task_id and task["state"] == "queued" and task["position"] == 1
    assert task["progress"] == {"step": 0, "total": 0, "fraction": 0.0}
    assert task["images"] == [] and task["zip_url"] is None


def test_cancel_refunds_once_then_409(app, client, user, headers):
    before = balance(app, user)
    task_id = client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
    cancelled = client.post(f"/api/v1/tasks/{task_id}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    again = client.post(f"/api/v1/tasks/{task_id}/cancel", headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "not_cancellable"
    assert balance(app, user) == before


def test_list_filters_by_state_and_pages(app, client, headers):
    app.config["QUEUE_MAX_PER_USER"] = 10
    ids = [client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
           for _ in range(5)]
    client.post(f"/api/v1/tasks/{ids[0]}/cancel", headers=headers)
    everything = client.get("/api/v1/tasks", headers=headers).json
    assert [t["id"] for t in everything["tasks"]] == ids[::-1]
    assert (everything["total"], everything["pages"], everything["page"]) == (5, 1, 1)
    page = client.get("/api/v1/tasks?per_page=2&page=2", headers=headers).json
    assert [t["id"] for t in page["tasks"]] == [ids[2], ids[1]] and page["pages"] == 3
    queued = client.get("/api/v1/tasks?state=queued", headers=headers).json
    assert queued["total"] == 4 and {t["state"] for t in queued["tasks"]} == {"queued"}
    cancelled = client.get("/api/v1/tasks?state=cancelled", headers=headers).json
    assert [t["id"] for t in cancelled["tasks"]] == [ids[0]]
    beyond = client.get("/api/v1/tasks?page=9", headers=headers).json
    assert beyond["tasks"] == [] and beyond["total"] == 5


@pytest.mark.parametrize(("query", "field"), [
    ("state=sleeping", "state"), ("page=0", "page"), ("page=x", "page"),
    ("per_page=101", "per_page"), ("page=99999999999999999999", "page"),
])
def test_bad_list_parameters_get_400(client, headers, query, field):
    response = client.get(f"/api/v1/tasks?{query}", headers=headers)
    assert response.status_code == 400 and field in response.json["error"]["details"]


def test_other_users_get_404_on_my_task(client, headers, make_user, make_key):
    task_id = client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
    other = bearer(make_key(make_user("other@example.com")))
    for method, path in (("get", f"/api/v1/tasks/{task_id}"),
                         ("post", f"/api/v1/tasks/{task_id}/cancel"),
                         ("get", f"/api/v1/tasks/{task_id}.zip"),
                         ("get", "/api/v1/tasks/no-such-task")):
        response = getattr(client, method)(path, headers=other)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/tasks", headers=other).json["total"] == 0
    assert client.get(f"/api/v1/tasks/{task_id}", headers=headers).json["state"] == "queued"


def test_staff_can_see_and_cancel_anyones_task(client, headers, staff, make_key):
    task_id = client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
    as_staff = bearer(make_key(staff))
    assert client.get(f"/api/v1/tasks/{task_id}", headers=as_staff).status_code == 200
    cancelled = client.post(f"/api/v1/tasks/{task_id}/cancel", headers=as_staff)
    assert cancelled.json["state"] == "cancelled"


def test_wrong_method_is_a_json_405(client, headers):
    response = client.delete("/api/v1/tasks", headers=headers)
    assert response.status_code == 405 and response.json["error"]["code"]


def test_task_list_queries_do_not_grow_with_the_page(app, client, user, headers):
    """A page of 2 tasks and a page of 20 run the same statements (images in one query)."""
    from tests.library_factories import bulk_images
    from tests.querycount import count_for

    with app.app_context():
        bulk_images(user.id, 4, per_task=2)
    few = count_for(app, client, "/api/v1/tasks?per_page=20", headers=headers)
    with app.app_context():
        bulk_images(user.id, 36, per_task=2)
    assert count_for(app, client, "/api/v1/tasks?per_page=20", headers=headers) == few
    listed = client.get("/api/v1/tasks?per_page=20", headers=headers).json
    assert listed["total"] == 20 and all(len(t["images"]) == 2 for t in listed["tasks"])
