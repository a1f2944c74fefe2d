"""Batching across people with `daydream worker` processes: one RQ job runs a whole batch,
and the wake-up jobs of the tasks that joined it find nothing to run and just return."""

from __future__ import annotations

import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task
from daydream.queue.rq_backend import QUEUE_NAME
from tests.scale.conftest import wait_until
from tests.scale.test_workers import TINY, assert_books_balance, final_states, submit


def test_one_worker_runs_three_peoples_tasks_as_one_batch(app, make_user, workers,
                                                          redis_server):
    people = [make_user(f"{name}@example.com") for name in ("ann", "ben", "cy")]
    ids = [submit(app, person, {**TINY, "prompt": f"picture {n}", "seed": n, "steps": 6})
           for n, person in enumerate(people, start=1)]
    workers.start(1, MAX_BATCH=8)  # three tasks and three wake-up jobs already wait
    assert wait_until(lambda: final_states(app, ids), timeout=180) == dict.fromkeys(ids, "done")
    with app.app_context():
        rows = db.session.scalars(select(Task).where(Task.id.in_(ids))).all()
        # One call: every task started before any finished (alone, each waits for the last).
        assert max(row.started_at for row in rows) < min(row.finished_at for row in rows)
        assert len({row.worker_id for row in rows}) == 1
        assert all(len(row.images) == 1 for row in rows)
        assert len({row.images[0].seed for row in rows}) == 3
    connection = redis.Redis.from_url(redis_server.url)
    queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    # The two extra jobs ran, found no task and returned: none failed, none left waiting.
    assert wait_until(lambda: queue.count == 0, timeout=30)
    assert FailedJobRegistry(queue=queue).count == 0
    assert all(process.poll() is None for process in workers.processes)
    assert_books_balance(app)
