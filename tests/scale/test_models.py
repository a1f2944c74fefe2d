"""Model affinity across worker processes on real Redis and PostgreSQL: two workers that each
hold one model get only the tasks for theirs, and nobody pays a model switch."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from rq.suspension import resume, suspend
from sqlalchemy import select

from daydream.engine.metadata import read_png_parameters
from daydream.extensions import db
from daydream.models import Task, User
from daydream.services import storage, tasks
from daydream.services.models import scan_library
from tests.scale.conftest import wait_until
from tests.scale.test_workers import SHARED, assert_books_balance, final_states, suspended_workers

SD1, XL = "daydream-demo", "daydream-demo-xl"


@pytest.fixture(scope="module")
def two_models(instance) -> Path:
    """The SD 1.x and SDXL demo models in a models folder beside the shared instance."""
    from daydream.engine.demo import build_demo_model
    from daydream.engine.demo_xl import build_sdxl_demo_model

    folder = instance / "library"
    build_demo_model(folder / SD1)
    build_sdxl_demo_model(folder / XL)
    return folder


def test_two_workers_with_different_models_each_get_only_the_tasks_for_theirs(
        app, make_user, workers, redis_server, two_models):
    app.config["MODELS_DIR"] = str(two_models)
    people = [make_user(f"{name}@example.com") for name in "abc"]
    plan = [(people[i % 3], (SD1, XL)[i % 2]) for i in range(8)]
    with app.app_context():
        ids = {tasks.submit(db.session.get(User, person.id), SHARED, model=model).id: model
               for person, model in plan}
    connection = redis.Redis.from_url(redis_server.url)
    suspend(connection)  # both load their model first, then both take from one queue
    holder = {}
    for model in (SD1, XL):
        process, = workers.start(1, MODELS_DIR=two_models, WORKER_PRELOAD=model,
                                 WORKER_MODELS=1)
        holder[str(process.pid)] = model
    workers.wait_ready(redis_server.url, 2)
    wait_until(lambda: suspended_workers(connection) == 2, timeout=60)
    resume(connection)
    wait_until(lambda: final_states(app, ids), timeout=180)
    library = scan_library(two_models)
    with app.app_context():
        rows = db.session.scalars(select(Task).where(Task.id.in_(ids))).all()
        assert {row.state for row in rows} == {"done"}, workers.log_text()
        for row in rows:
            pid = row.worker_id.split(":")[1]
            assert holder[pid] == ids[row.id] == row.model, workers.log_text()
            png = read_png_parameters(storage.absolute(row.images[0].path))["parsed"]
            assert png["Model hash"] == library.get(row.model).hash
        assert {row.worker_id for row in rows} and len({r.worker_id for r in rows}) == 2
    assert "loading model" not in workers.log_text()  # no switch was needed, none was made
    assert_books_balance(app)
