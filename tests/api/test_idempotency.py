"""``Idempotency-Key`` on POST /api/v1/tasks: a retry is the same task, charged once."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from daydream.extensions import db
from daydream.models import IdempotencyKey, Task, User
from daydream.models.base import utcnow
from daydream.services.credits import ledger_total
from tests.api import a1111
from tests.api.conftest import TINY, basic, bearer


def balance(app, user) -> int:
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance, "balance must equal the ledger"
        return balance


def task_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Task.id)))


def keyed(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


def test_a_retry_with_the_same_key_is_the_same_task_charged_once(app, client, user, headers):
    before = balance(app, user)
    first = client.post("/api/v1/tasks", json=TINY, headers=keyed(headers, "retry-1"))
    # Same body, keys in another order: still the same request.
    again = client.post("/api/v1/tasks", data=json.dumps(dict(reversed(TINY.items()))),
                        content_type="application/json", headers=keyed(headers, "retry-1"))
    assert first.status_code == again.status_code == 202
    assert again.json["id"] == first.json["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert task_count(app) == 1 and balance(app, user) == before - first.json["cost"]


def test_the_same_key_with_another_body_is_refused_and_not_charged(app, client, user, headers):
    first = client.post("/api/v1/tasks", json=TINY, headers=keyed(headers, "k"))
    before = balance(app, user)
    other = client.post("/api/v1/tasks", json={**TINY, "prompt": "a different picture"},
                        headers=keyed(headers, "k"))
    assert first.status_code == 202 and other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert "different request" in other.json["error"]["message"]
    assert task_count(app) == 1 and balance(app, user) == before


def test_keys_belong_to_one_account(app, client, headers, make_user, make_key):
    other_headers = bearer(make_key(make_user("other@example.com")))
    mine = client.post("/api/v1/tasks", json=TINY, headers=keyed(headers, "shared"))
    theirs = client.post("/api/v1/tasks", json=TINY, headers=keyed(other_headers, "shared"))
    assert mine.status_code == theirs.status_code == 202
    assert mine.json["id"] != theirs.json["id"] and task_count(app) == 2


def test_without_a_key_every_submit_is_a_new_task(app, client, headers):
    ids = {client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
           for _ in range(2)}
    assert len(ids) == 2 and task_count(app) == 2


@pytest.mark.parametrize("bad", ["", " ", "x" * 256, "naïve"])
def test_an_unusable_key_is_a_clear_400(app, client, headers, bad):
    response = client.post("/api/v1/tasks", json=TINY,
                           headers={**headers, "Idempotency-Key": bad.encode().decode("latin-1")})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_idempotency_key"
    assert task_count(app) == 0


def test_an_expired_key_starts_a_new_task(app, client, user, headers):
    first = client.post("/api/v1/tasks", json=TINY, headers=keyed(headers, "old")).json
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    second = client.post("/api/v1/tasks", json=TINY, headers=keyed(headers, "old"))
    assert second.status_code == 202 and second.json["id"] != first["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 1


def test_a_failed_submit_keeps_no_key(app, client, make_user, make_key):
    poor = make_user("poor@example.com", credits=0)
    headers = keyed(bearer(make_key(poor)), "try-again-later")
    assert client.post("/api/v1/tasks", json=TINY, headers=headers).status_code == 402
    with app.app_context():
        db.session.execute(update(User).where(User.id == poor.id).values(credits=5))
        db.session.commit()
    assert client.post("/api/v1/tasks", json=TINY, headers=headers).status_code == 202


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_retries_make_one_task_and_one_charge(app, user, headers, live_server):
    host, port = live_server
    before = balance(app, user)
    answers: list[tuple[int, dict]] = []

    def retry() -> None:
        request = urllib.request.Request(
            f"http://{host}:{port}/api/v1/tasks", data=json.dumps(TINY).encode(),
            method="POST", headers={**keyed(headers, "burst"),
                                    "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read())))

    threads = [threading.Thread(target=retry) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert [status for status, _ in answers] == [202] * 12, answers
    assert len({task["id"] for _, task in answers}) == 1
    assert task_count(app) == 1
    assert balance(app, user) == before - answers[0][1]["cost"]


def test_sdapi_txt2img_retry_answers_the_first_task_images(app, client, user, make_key,
                                                            worker):
    headers = {**basic(make_key(user)), "Idempotency-Key": "a1111-retry"}
    body = a1111.txt2img(**a1111.SMALL)  # a random seed: only the same task repeats it
    before = balance(app, user)
    first = client.post("/sdapi/v1/txt2img", json=body, headers=headers)
    again = client.post("/sdapi/v1/txt2img", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.json
    assert again.json["images"] == first.json["images"]
    assert json.loads(again.json["info"])["seed"] == json.loads(first.json["info"])["seed"]
    with app.app_context():
        cost = db.session.scalar(select(Task.cost))
    assert task_count(app) == 1 and balance(app, user) == before - cost
    other = client.post("/sdapi/v1/txt2img", json={**body, "prompt": "another"}, headers=headers)
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused" and task_count(app) == 1
