"""Account archives when scaled out: a `daydream worker` process builds them (the web process
only asks), even after Redis lost the job; the web process serves the download; a worker
killed mid-archive leaves it failed ("try again"); a foreign job on the archive queue never
runs."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import redis
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Archive, User
from daydream.models.base import utcnow
from daydream.queue.rq_backend import ARCHIVE_QUEUE
from daydream.services import account_archive
from tests.conftest import fetch
from tests.library_factories import bulk_images
from tests.scale.conftest import wait_until


def archive_of(app, user_id: int) -> Archive:
    with app.app_context():
        archive = db.session.scalar(select(Archive).where(Archive.user_id == user_id)
                                    .order_by(Archive.id.desc()))
        db.session.expunge_all()
    return archive


def test_a_worker_process_builds_the_archive_and_the_web_serves_it(
        app, client, auth, make_user, make_images, workers, redis_server, tmp_path):
    connection = redis.Redis.from_url(redis_server.url)
    user = make_user("keeper@example.com")
    make_images(user, 3)
    auth.login(user.email)
    assert client.post("/account/archive").status_code == 303
    # No worker yet: the archive waits, and the page says so (the web never builds it).
    page = client.get("/account/?tab=archive").get_data(as_text=True)
    assert "Waiting to start: it begins as soon as a worker is free (3 images)." in page
    # Someone's earlier archive whose builder was killed mid-way: building, heartbeat gone.
    earlier = make_user("earlier@example.com")
    make_images(earlier, 1)
    with app.app_context():
        orphan = account_archive.request_archive(db.session.get(User, earlier.id))
        orphan.state, orphan.heartbeat_at = "building", utcnow() - timedelta(minutes=10)
        db.session.commit()
    # Redis loses everything meanwhile (restarted without its data): the row is the truth,
    # and the worker's first sweep enqueues the archive again.
    connection.flushdb()
    # Whoever can write to Redis cannot choose code on the archive queue either.
    marker = tmp_path / "pwned"
    Queue(ARCHIVE_QUEUE, connection=connection, serializer=JSONSerializer).enqueue(
        "os.system", f"touch {marker}")
    workers.start(1)
    workers.wait_ready(redis_server.url, 1)
    archive = wait_until(lambda: (a := archive_of(app, user.id)).state in ("ready", "failed")
                         and a, timeout=60)
    assert archive.state == "ready", (archive.error, workers.log_text())
    assert archive.images_done == archive.images_total == 3

    # Built by the worker process, not by this (web) process.
    assert "daydream.archive_builder" not in app.extensions
    job = Job.fetch(f"archive-{archive.id}", connection=connection)
    builder = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                 connection=connection)
    assert builder.pid == workers.processes[0].pid
    assert not marker.exists() and "refused job" in workers.log_text()

    response = fetch(client, f"/account/archive/{archive.uuid}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        names = bundle.namelist()
        assert len(names) == 3 and all(bundle.read(n).startswith(b"\x89PNG") for n in names)

    # The worker's housekeeper found the dead builder's archive and said so.
    failed = wait_until(lambda: (a := archive_of(app, earlier.id)).state == "failed" and a,
                        timeout=30)
    assert "Please try again." in failed.error


def test_a_worker_killed_mid_archive_leaves_it_failed_and_it_can_be_asked_again(
        app, client, auth, make_user, workers, redis_server):
    app.config["ARCHIVE_STALE_SECONDS"] = 2  # the web's sweep (the page) judges the builder
    user = make_user("big@example.com")
    with app.app_context():
        # Rows without files: the builder walks them all (missing files are skipped), which
        # takes seconds, long enough to kill it mid-way.
        bulk_images(user.id, 15_000, batch=5_000)
    auth.login(user.email)
    (first,) = workers.start(1)
    workers.wait_ready(redis_server.url, 1)
    assert client.post("/account/archive").status_code == 303
    building = wait_until(lambda: (a := archive_of(app, user.id)).images_done > 0 and a,
                          timeout=60, every=0.02)
    assert building.state == "building" and building.images_done < building.images_total
    first.kill()  # SIGKILL: no goodbye, the job and the half-written file left behind
    first.wait(10)

    page = wait_until(lambda: "stopped before it was finished" in (
        p := client.get("/account/?tab=archive").get_data(as_text=True)) and p, timeout=30)
    assert "Please try again." in page and "Try again" in page
    assert not list((Path(app.instance_path) / "archives").glob("*.part"))

    workers.start(1)
    workers.wait_ready(redis_server.url, 1)
    assert client.post("/account/archive").status_code == 303
    again = wait_until(lambda: (a := archive_of(app, user.id)).state in ("ready", "failed")
                       and a, timeout=120)
    assert again.state == "ready" and again.id != building.id, again.error
    assert again.images_done == again.images_total == 15_000
