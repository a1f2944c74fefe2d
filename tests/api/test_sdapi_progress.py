"""A1111's /progress and /interrupt: only ever the caller's own task."""

import base64
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from daydream.engine.errors import EngineError, GenerationCancelled
from daydream.extensions import db
from daydream.models import Task, User
from daydream.runtime import get_runtime
from daydream.services import lifecycle
from daydream.services.credits import ledger_total
from daydream.worker import Worker
from tests.api import a1111
from tests.api.conftest import TINY, basic, bearer
from tests.conftest import wait_for

IDLE_STATE = {"skipped": False, "interrupted": False, "stopping_generation": False, "job": "",
              "job_count": 0, "job_timestamp": "0", "job_no": 0, "sampling_step": 0,
              "sampling_steps": 0}


class SlowEngine:
    """Reports one step with a preview, then waits until told to stop (or fails if asked)."""

    model_name = "slow-test-engine"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.started = threading.Event()

    def generate(self, params, init_image=None, on_step=None, should_stop=None,
                 **_preview_options):
        on_step(SimpleNamespace(step=1, total=params.steps, eta=3.0, preview_jpeg=b"jpeg!"))
        self.started.set()
        if self.fail:
            raise EngineError("The engine broke on purpose.")
        wait_for(should_stop, timeout=20)
        raise GenerationCancelled(1, params.steps)


@pytest.fixture
def slow_worker(app):
    engine = SlowEngine()
    running = Worker(app, engine=engine).start()
    running.wait_ready(10)
    yield engine
    running.stop()


def credits(app, user) -> int:
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance
        return balance


def test_progress_without_a_task_is_idle(client, headers):
    assert client.get("/sdapi/v1/progress", headers=headers).json == {
        "progress": 0, "eta_relative": 0, "state": IDLE_STATE, "current_image": None,
        "textinfo": None}


def test_progress_of_a_queued_task_shows_its_place(client, headers):
    client.post("/api/v1/tasks", json=TINY, headers=headers)
    progress = client.get("/sdapi/v1/progress", headers=headers).json
    assert progress["progress"] == 0 and progress["eta_relative"] > 0
    assert progress["textinfo"] == "Waiting in the queue: position 1"
    assert progress["state"]["job_count"] == 1 and progress["current_image"] is None


def test_progress_and_interrupt_of_a_running_task(app, client, user, make_key, make_user,
                                                  slow_worker):
    key = make_key(user)
    before = credits(app, user)
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(app.test_client().post(
        "/sdapi/v1/txt2img", json=a1111.txt2img(**{**a1111.SMALL, "steps": 4}, seed=3),
        headers=basic(key))))
    waiting.start()
    assert slow_worker.started.wait(20)
    progress = wait_for(lambda: (lambda p: p if p["state"]["sampling_step"] else None)(
        client.get("/sdapi/v1/progress", headers=bearer(key)).json))
    assert progress["progress"] == 0.25 and progress["textinfo"] == "Step 1 of 4"
    assert progress["state"]["sampling_steps"] == 4 and progress["state"]["interrupted"] is False
    assert base64.b64decode(progress["current_image"]) == b"jpeg!"
    # Our own API shows the same live step for the running task.
    (running,) = client.get("/api/v1/tasks?state=running", headers=bearer(key)).json["tasks"]
    assert running["progress"] == {"step": 1, "total": 4, "fraction": 0.25}
    skipped = client.get("/sdapi/v1/progress?skip_current_image=true", headers=bearer(key))
    assert skipped.json["current_image"] is None

    stranger = bearer(make_key(make_user("other@example.com")))
    assert client.get("/sdapi/v1/progress", headers=stranger).json["state"] == IDLE_STATE
    assert client.post("/sdapi/v1/interrupt", headers=stranger).json == {}
    assert waiting.is_alive(), "someone else's interrupt does not stop my task"

    assert client.post("/sdapi/v1/interrupt", headers=bearer(key)).json == {}
    waiting.join(20)
    answer = answers[0]
    assert answer.status_code == 200, "an interrupted A1111 call still answers"
    assert answer.json["images"] == [] and '"all_seeds": [3]' in answer.json["info"]
    assert credits(app, user) == before, "interrupted work is refunded"


def test_failed_generation_is_reported_and_refunded(app, client, user, make_key):
    running = Worker(app, engine=SlowEngine(fail=True)).start()
    running.wait_ready(10)
    try:
        response = client.post("/sdapi/v1/txt2img", json=a1111.txt2img(**a1111.SMALL),
                               headers=basic(make_key(user)))
    finally:
        running.stop()
    assert response.status_code == 500
    assert response.json["error"] == {"code": "generation_failed",
                                      "message": "The engine broke on purpose.",
                                      "details": {"task": response.json["error"]["details"]
                                                  ["task"]}}
    assert credits(app, user) == 500


def test_waiting_too_long_cancels_refunds_and_answers_504(app, client, user, make_key):
    app.config["SDAPI_WAIT_TIMEOUT"] = 0.3
    response = client.post("/sdapi/v1/txt2img", json=a1111.txt2img(**a1111.SMALL),
                           headers=basic(make_key(user)))
    assert response.status_code == 504 and response.json["error"]["code"] == "timeout"
    with app.app_context():
        assert db.session.scalar(select(Task.state)) == "cancelled"
    assert credits(app, user) == 500


def test_interrupt_leaves_queued_tasks_alone(app, client, headers):
    task_id = client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
    assert client.post("/sdapi/v1/interrupt", headers=headers).json == {}
    assert client.get(f"/api/v1/tasks/{task_id}", headers=headers).json["state"] == "queued"
    with app.app_context():
        task = db.session.scalar(select(Task))
        lifecycle.mark_running(task)
        client.post("/sdapi/v1/interrupt", headers=headers)
        assert get_runtime(app).state.cancel_requested(task.id)
