"""Worker processes on real Redis and PostgreSQL: a shared fair queue, progress to the owner
only, cancel across processes, and the A1111 API against a worker in another process."""

from __future__ import annotations

import threading
import time

import pytest
import redis
import requests
import socketio as socketio_client
from rq import Worker
from rq.suspension import resume, suspend
from rq.worker import WorkerStatus
from sqlalchemy import select
from werkzeug.serving import make_server

from daydream.extensions import db
from daydream.models import Task, User
from daydream.services import statuses, tasks
from daydream.services.credits import ledger_total
from tests.api.conftest import basic
from tests.conftest import PASSWORD
from tests.scale.conftest import wait_until

TINY = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2, "cfg_scale": 7,
        "samples": 1, "scheduler": "Euler"}
LONG = {**TINY, "steps": 100}  # ≈ 2–4 s: long enough to watch and to cancel
# ≈ 1 s each: RQ workers look for a resume once a second, so six tasks of this length cannot
# all be run by whichever worker happens to wake first.
SHARED = {**TINY, "steps": 50}


def submit(app, user: User, data: dict) -> int:
    """Submit as the web process does; the task's id."""
    with app.app_context():
        return tasks.submit(db.session.get(User, user.id), data).id


def final_states(app, ids) -> dict[int, str] | None:
    """id → state once every task has finished, else None."""
    with app.app_context():
        rows = db.session.scalars(select(Task).where(Task.id.in_(ids))).all()
        states = {row.id: row.state for row in rows}
        db.session.rollback()
    return states if all(s in ("done", "failed", "cancelled") for s in states.values()) \
        else None


def suspended_workers(connection: redis.Redis) -> int:
    """How many RQ workers are waiting for a resume (their model loaded, their loop started)."""
    return sum(worker.get_state() == WorkerStatus.SUSPENDED
               for worker in Worker.all(connection=connection))


def assert_books_balance(app) -> None:
    """Every balance equals its ledger."""
    with app.app_context():
        for user in db.session.scalars(select(User)):
            assert ledger_total(user.id) == user.credits, user.email


@pytest.fixture
def live_server(app):
    """The web app served on a loopback port (Socket.IO over the Redis message queue)."""
    server = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_two_worker_processes_share_one_fair_queue(app, make_user, workers, redis_server):
    a, b, c = (make_user(f"{name}@example.com") for name in "abc")
    plan = [("A1", a), ("A2", a), ("B1", b), ("C1", c), ("C2", c), ("A3", a)]
    ids = {name: submit(app, user, SHARED) for name, user in plan}
    with app.app_context():
        positions = statuses.positions()
    by_position = sorted(ids, key=lambda name: positions[ids[name]][0])
    assert by_position == ["A1", "B1", "C1", "A2", "C2", "A3"]
    # Both workers load their model while RQ is suspended, then both take from one queue.
    connection = redis.Redis.from_url(redis_server.url)
    suspend(connection)
    workers.start(2)
    workers.wait_ready(redis_server.url, 2)
    wait_until(lambda: suspended_workers(connection) == 2, timeout=60)
    resume(connection)
    wait_until(lambda: final_states(app, ids.values()), timeout=180)
    with app.app_context():
        rows = {row.id: row for row in db.session.scalars(select(Task))}
        assert {row.state for row in rows.values()} == {"done"}, workers.log_text()
        assert all(row.images for row in rows.values())
        owners = {row.worker_id.rsplit(":", 1)[0] for row in rows.values()}
        started = sorted(ids, key=lambda name: rows[ids[name]].started_at)
        gaps = {name: rows[ids[name]].started_at for name in ids}
    assert len(owners) == 2, "both worker processes took tasks"
    # Two workers pop in fair order; two pops a moment apart may record their start swapped.
    for earlier, later in zip(started, started[1:], strict=False):
        if by_position.index(earlier) > by_position.index(later):
            assert abs((gaps[earlier] - gaps[later]).total_seconds()) < 0.5
    assert_books_balance(app)


def login_session(base: str, email: str) -> requests.Session:
    """A logged-in browser-like HTTP session."""
    session = requests.Session()
    assert session.post(f"{base}/auth/login", data={"email": email, "password": PASSWORD},
                        allow_redirects=False).status_code in (302, 303)
    return session


def socket_of(base: str, session: requests.Session) -> tuple[socketio_client.Client, list]:
    """A Socket.IO client with the session's cookie; collects every event it receives."""
    received: list[tuple[str, dict]] = []
    client = socketio_client.Client()
    client.on("*", lambda event, data=None: received.append((event, data)))
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    client.connect(base, headers={"Cookie": cookie}, transports=["polling"], wait_timeout=10)
    return client, received


def test_progress_reaches_only_the_owner_and_cancel_stops_within_a_step(
        app, make_user, workers, live_server, redis_server):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    # Every step's event, so "within a step" can be read off them (deployments pace them).
    workers.start(1, PROGRESS_INTERVAL=0)
    workers.wait_ready(redis_server.url, 1)
    alice_http = login_session(live_server, alice.email)
    alice_socket, alice_events = socket_of(live_server, alice_http)
    bob_socket, bob_events = socket_of(live_server, login_session(live_server, bob.email))
    try:
        done_id = alice_http.post(f"{live_server}/studio/tasks", data=TINY).json()["task"]["id"]
        wait_until(lambda: any(e == "task.done" for e, _ in alice_events), timeout=60)
        names = [event for event, _ in alice_events]
        assert "task.started" in names and "task.progress" in names
        assert all(data["id"] == done_id for event, data in alice_events
                   if event.startswith("task.") and event != "task.queued")
        assert not [e for e, _ in bob_events if e.startswith("task.")]

        alice_events.clear()
        long_id = alice_http.post(f"{live_server}/studio/tasks", data=LONG).json()["task"]["id"]
        wait_until(lambda: sum(e == "task.progress" for e, _ in alice_events) >= 3, timeout=60)
        assert alice_http.post(f"{live_server}/studio/tasks/{long_id}/cancel").ok
        steps_at_cancel = max(d["step"] for e, d in alice_events if e == "task.progress")
        wait_until(lambda: any(e == "task.cancelled" for e, _ in alice_events), timeout=30)
        last_step = max(d["step"] for e, d in alice_events if e == "task.progress")
        # The cancel reached the other process within one step (plus one already under way).
        assert last_step - steps_at_cancel <= 2, (steps_at_cancel, last_step)
        status = alice_http.get(f"{live_server}/studio/tasks/{long_id}").json()
        assert status["state"] == "cancelled" and status["images"] == []
        assert not [e for e, _ in bob_events if e.startswith("task.")]
    finally:
        alice_socket.disconnect()
        bob_socket.disconnect()
    assert_books_balance(app)


def test_a1111_txt2img_and_progress_against_a_worker_process(
        app, client, user, make_key, workers, redis_server):
    headers = basic(make_key(user))
    workers.start(1)
    workers.wait_ready(redis_server.url, 1)
    answer: dict = {}

    def call() -> None:
        body = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 60,
                "sampler_name": "Euler", "seed": 7}
        answer["response"] = app.test_client().post("/sdapi/v1/txt2img", json=body,
                                                    headers=headers)

    waiter = threading.Thread(target=call)
    started = time.monotonic()
    waiter.start()
    seen = wait_until(lambda: (lambda p: p if p["progress"] > 0 and p["current_image"] else
                               None)(client.get("/sdapi/v1/progress", headers=headers).json),
                      timeout=60, every=0.05)
    assert seen["state"]["sampling_steps"] == 60 and seen["eta_relative"] >= 0
    waiter.join(60)
    response = answer["response"]
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.json["images"]) == 1 and response.json["parameters"]["seed"] == 7
    assert time.monotonic() - started < 60
    info = client.get("/api/v1/info", headers=headers).json
    assert info["models"][0]["workers"] == 1
    assert_books_balance(app)
