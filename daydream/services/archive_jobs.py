"""Who builds account archives: a ``daydream worker`` process, or one thread of the server.

With the RQ backend (a scaled deployment) an archive is an RQ job on the queue
``daydream-archives``, which every ``daydream worker`` also listens to after the task queue:
the web processes only insert the row and enqueue its id, and never build. The embedded
default builds in the one web process, in a single builder thread that takes the waiting
archives one after another (a bounded amount of work however many people ask at once).
Either way the ``archive`` row is the truth: a lost job or thread is found again by
``resume`` (the housekeeper's sweep), and a builder that died mid-way is marked failed there.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Archive, ArchiveState
from daydream.runtime import get_runtime
from daydream.services import account_archive

log = logging.getLogger(__name__)


def dispatch(app: Flask, archive_id: int) -> None:
    """Have a queued archive built: an RQ job when scaled out, else the builder thread."""
    if app.config.get("QUEUE_BACKEND") == "rq":
        _enqueue(app, archive_id)
    else:
        _builder(app).wake()


def resume(app: Flask) -> list[int]:
    """Sweep (expire, fail orphans), then dispatch queued archives with no builder; their ids."""
    waiting = account_archive.sweep()
    if not waiting:
        return waiting
    if app.config.get("QUEUE_BACKEND") == "rq":
        for archive_id in waiting:
            if not _job_pending(app, archive_id):
                _enqueue(app, archive_id)
    else:
        _builder(app).wake()
    return waiting


def build_here(app: Flask, archive_id: int) -> bool:
    """Build one archive in this process, in its own app context; False if not claimed."""
    with app.app_context():
        try:
            return account_archive.build(archive_id)
        finally:
            db.session.remove()


# --- scaled out: RQ jobs -----------------------------------------------------------------

def _job_id(archive_id: int) -> str:
    return f"archive-{archive_id}"


def _rq_queue(app: Flask):
    from rq import Queue
    from rq.serializers import JSONSerializer

    from daydream.queue.rq_backend import ARCHIVE_QUEUE

    return Queue(ARCHIVE_QUEUE, connection=get_runtime(app).queue.redis,
                 serializer=JSONSerializer)


def _enqueue(app: Flask, archive_id: int) -> None:
    import redis

    from daydream.queue.rq_backend import BUILD_ARCHIVE

    queue = _rq_queue(app)
    try:
        stale = queue.fetch_job(_job_id(archive_id))
        if stale is not None:
            stale.delete()  # a finished or failed job of the same id: start afresh
        queue.enqueue(BUILD_ARCHIVE, archive_id, job_id=_job_id(archive_id),
                      job_timeout=app.config["ARCHIVE_JOB_TIMEOUT"], result_ttl=60,
                      failure_ttl=24 * 3600)
    except redis.RedisError as error:
        # The row stays queued; the next sweep enqueues it again.
        log.warning("could not enqueue archive %s (will retry): %s", archive_id, error)


def _job_pending(app: Flask, archive_id: int) -> bool:
    """Whether an RQ job for the archive is waiting or running (or Redis cannot say)."""
    import redis

    try:
        job = _rq_queue(app).fetch_job(_job_id(archive_id))
        return job is not None and job.get_status(refresh=False) in (
            "queued", "started", "deferred", "scheduled")
    except redis.RedisError:
        return True  # cannot tell: do not pile up jobs during an outage


# --- embedded: one builder thread per process ----------------------------------------------

class Builder:
    """One thread that builds waiting archives one at a time, then ends until woken."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._again = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Make sure every queued archive gets built: start the thread or tell it to look."""
        with self._lock:
            self._again = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, daemon=True,
                                                name="daydream-archives")
                self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Wait until the thread has nothing left to build; whether it has ended."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _main(self) -> None:
        while True:
            with self._lock:  # decided under the lock, so a wake() is never lost
                if not self._again:
                    self._thread = None
                    return
                self._again = False
            try:
                for archive_id in self._waiting():
                    build_here(self.app, archive_id)
            except Exception:  # the rows say what happened; the thread must not die
                log.exception("archive builder error")

    def _waiting(self) -> list[int]:
        with self.app.app_context():
            try:
                return list(db.session.scalars(
                    select(Archive.id).where(Archive.state == ArchiveState.QUEUED.value)
                    .order_by(Archive.id)))
            finally:
                db.session.remove()


def wait_idle(app: Flask, timeout: float = 30) -> bool:
    """Let this process's builder thread finish (before the app goes); True when it has."""
    builder = app.extensions.get("daydream.archive_builder")
    return builder.wait(timeout) if builder is not None else True


_builders_lock = threading.Lock()


def _builder(app: Flask) -> Builder:
    with _builders_lock:
        builder = app.extensions.get("daydream.archive_builder")
        if builder is None:
            builder = app.extensions["daydream.archive_builder"] = Builder(app)
    return builder
