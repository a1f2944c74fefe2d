"""The fault audit's findings 1–7 (issue 9), each pinned by a test that failed before the fix."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from daydream.extensions import db
from daydream.models import Image, Task, User
from daydream.models.base import utcnow
from daydream.runtime import get_runtime
from daydream.services import lifecycle, recovery, tasks
from daydream.services.credits import ledger_total
from tests.conftest import SMALL, wait_for

FORM = {k: v for k, v in SMALL.items() if k != "random_seed"}


def submit(app, user_id: int, data: dict | None = None) -> int:
    with app.app_context():
        return tasks.submit(db.session.get(User, user_id), data or FORM).id


def row(app, task_id: int) -> Task:
    with app.app_context():
        task = db.session.get(Task, task_id)
        db.session.expunge(task)
        return task


def balance_matches_ledger(app, user_id: int) -> int:
    with app.app_context():
        balance = db.session.get(User, user_id).credits
        assert ledger_total(user_id) == balance
        return balance


def outage(*args, **kwargs):
    raise OperationalError("UPDATE task SET state=%(state)s", {}, Exception("connection refused"))


def test_1_a_database_outage_does_not_kill_the_worker(app, user, worker, monkeypatch):
    gave_up = threading.Event()

    def failing_mark_failed(*args, **kwargs):
        gave_up.set()
        outage()

    monkeypatch.setattr(lifecycle, "mark_running", outage)
    monkeypatch.setattr(lifecycle, "mark_failed", failing_mark_failed)
    # Through the queue, whose claim is what fails (not handed to the idle worker).
    monkeypatch.setattr(get_runtime(app).queue, "reserve_idle_worker", lambda model: None)
    lost = submit(app, user.id)
    # Taken by the worker, then the database failed for its start and for its failure too:
    # the database comes back only after both (else the real mark_failed would fail it).
    assert gave_up.wait(120)
    monkeypatch.undo()
    second = submit(app, user.id)
    assert wait_for(lambda: row(app, second).state == "done", timeout=120)
    with app.app_context():  # the reconciler puts the first one back once it is old enough
        task = db.session.get(Task, lost)
        task.created_at -= timedelta(minutes=1)
        db.session.commit()
        # The worker's own housekeeping may have put it back already; else this pass does.
        assert recovery.reconcile()["pushed"] == (0 if task.state != "queued" else 1)
    assert wait_for(lambda: row(app, lost).state == "done", timeout=120)
    assert balance_matches_ledger(app, user.id) == user.credits - 2 * row(app, lost).cost


def test_2_failing_progress_writes_and_publishes_never_fail_a_task(app, user, worker,
                                                                   monkeypatch):
    from daydream.extensions import socketio

    monkeypatch.setattr(lifecycle, "record_progress", outage)
    monkeypatch.setattr(socketio, "emit", outage)
    task_id = submit(app, user.id, {**FORM, "steps": "6"})
    task = wait_for(lambda: (lambda t: t if t.is_finished else None)(row(app, task_id)),
                    timeout=120)
    assert task.state == "done" and task.error is None


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_3_the_per_user_bound_is_exact_under_concurrent_submits(app, user):
    app.config["QUEUE_MAX_PER_USER"] = 5
    outcomes: list[tuple[str, int]] = []
    barrier = threading.Barrier(30)

    def one() -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(("accepted", tasks.submit(db.session.get(User, user.id), FORM).id))
            except tasks.SubmissionRefused as refused:
                outcomes.append(("refused", refused.status))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes).count(("refused", 429)) == 25
    assert len([kind for kind, _ in outcomes if kind == "accepted"]) == 5
    with app.app_context():
        assert db.session.scalar(select(func.count(Task.id))) == 5  # no failed rows either
        cost = db.session.scalars(select(Task)).first().cost
    assert balance_matches_ledger(app, user.id) == user.credits - 5 * cost


def test_4_a_cancel_racing_the_pickup_never_refunds_a_running_task(app, user):
    task_id = submit(app, user.id)
    with app.app_context():
        seen_by_web = db.session.get(Task, task_id)  # the page still thinks "queued"
        get_runtime().queue.pop(0)
        lifecycle.mark_running(db.session.get(Task, task_id), "worker-1")  # the worker won
        db.session.expire_all()
        tasks.cancel(seen_by_web)
        task = db.session.get(Task, task_id)
        assert task.state == "running" and task.cancel_requested
    assert balance_matches_ledger(app, user.id) == user.credits - task.cost


def test_4_mark_done_keeps_no_images_for_a_task_cancelled_meanwhile(app, user):
    task_id = submit(app, user.id)
    with app.app_context():
        task = db.session.get(Task, task_id)
        lifecycle.mark_running(task, "worker-1")
        lifecycle.mark_cancelled(task, "Cancelled while running")
        db.session.add(Image(task_id=task_id, path="x.png", thumb_path="x.webp", seed=1,
                             width=64, height=64))
        db.session.flush()
        assert lifecycle.mark_done(task, 2) is False
        assert db.session.scalar(select(func.count(Image.id))) == 0
        assert task.state == "cancelled"


def _running_on_a_dead_worker(app, task_id: int, **fields) -> None:
    with app.app_context():
        task = db.session.get(Task, task_id)
        get_runtime().queue.remove(task_id)
        lifecycle.mark_running(task, "gone-host:1:aa")
        for name, value in fields.items():
            setattr(task, name, value)
        task.heartbeat_at = utcnow() - timedelta(minutes=5)
        db.session.commit()


def test_5_a_cancel_of_a_running_task_survives_its_worker(app, user):
    task_id = submit(app, user.id)
    _running_on_a_dead_worker(app, task_id)
    with app.app_context():
        tasks.cancel(db.session.get(Task, task_id))  # recorded in the row, not only in memory
        app.extensions.pop("daydream.runtime")  # the process (and its flags) went away
        counts = recovery.reconcile()
        recovery.reconcile()
    assert counts["cancelled"] == 1 and counts["requeued"] == 0
    assert row(app, task_id).state == "cancelled"
    assert balance_matches_ledger(app, user.id) == user.credits  # refunded exactly once


def test_6_a_second_worker_does_not_take_a_live_workers_task(app, user):
    task_id = submit(app, user.id)
    with app.app_context():
        get_runtime().queue.remove(task_id)
        lifecycle.mark_running(db.session.get(Task, task_id), "other-host:4242:bb")
        app.extensions.pop("daydream.runtime")  # a second server starts and reconciles
        counts = recovery.reconcile()
        assert get_runtime().queue.order() == []
    assert counts["requeued"] == 0
    task = row(app, task_id)
    assert task.state == "running" and task.worker_id == "other-host:4242:bb"


def test_6_a_task_whose_worker_stopped_heartbeating_is_taken_back(app, user):
    task_id = submit(app, user.id)
    _running_on_a_dead_worker(app, task_id)
    with app.app_context():
        assert recovery.reconcile()["requeued"] == 1
        assert get_runtime().queue.order() == [task_id]
    assert row(app, task_id).state == "queued"


def test_7_a_shutdown_mid_task_gives_it_back_without_counting_a_crash(app, user, demo_engine,
                                                                      monkeypatch):
    from daydream.runner import TaskRunner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # a second Ctrl+C / SIGTERM during a step

    runner = TaskRunner(app, demo_engine, "worker-1")
    monkeypatch.setattr(demo_engine, "generate", interrupted)
    task_id = submit(app, user.id)
    with pytest.raises(KeyboardInterrupt):
        runner.run(get_runtime(app).queue.pop(0))
    monkeypatch.undo()
    task = row(app, task_id)
    assert task.state == "queued" and task.attempts == 0 and task.worker_id is None
    assert get_runtime(app).queue.order() == [task_id]
    runner.run(get_runtime(app).queue.pop(0))
    assert row(app, task_id).state == "done"


def test_2_users_never_see_sql_in_a_failure():
    from daydream.engine.errors import GenerationError
    from daydream.runner import readable

    try:
        try:
            outage()
        except OperationalError as inner:
            raise GenerationError(f"generation failed: {inner}") from inner
    except GenerationError as wrapped:
        message = readable(wrapped)
    assert "SQL" not in message and "UPDATE" not in message
    assert "database" in message and "refunded" in message
