"""``daydream worker``: a process that loads the model once and runs RQ jobs in itself.

RQ's ``SimpleWorker`` runs each job in this process (no fork per job: CUDA does not survive
fork, and the model stays loaded). A first SIGTERM or SIGINT is a warm shutdown: the current
task finishes, then the process exits; a second one stops the task at once and gives it back
to the queue without counting it as a crash. When Redis goes away RQ's loop ends; this
process waits and starts it again, keeping the model loaded.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer

from daydream.engine.device import limit_torch_threads
from daydream.held_models import load_at_start, preload_rest
from daydream.queue import rq_jobs
from daydream.queue.rq_backend import ALLOWED_JOBS
from daydream.runner import TaskRunner
from daydream.runtime import get_runtime, redis_client
from daydream.server import freeze_startup_objects
from daydream.services import recovery
from daydream.worker import Housekeeper

log = logging.getLogger(__name__)
RESTART_PAUSE = 2.0  # seconds between attempts to reach Redis again


class DaydreamWorker(SimpleWorker):
    """An RQ worker that runs only Daydream's job functions, each from its own queue."""

    stopping = False  # set by a shutdown signal: then the loop is not started again

    def request_stop(self, signum, frame) -> None:
        """Warm shutdown: finish the current task, then leave (RQ's own handling)."""
        DaydreamWorker.stopping = True
        super().request_stop(signum, frame)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Refuse any job but its queue's own function: Redis writers must not choose code."""
        if job.func_name != ALLOWED_JOBS.get(queue.name):
            log.error("refused job %s calling %r", job.id, job.func_name)
            job.delete()
            return
        super().execute_job(job, queue)


def run_worker(app: Flask, burst: bool = False) -> None:
    """Load the model, then take jobs until asked to stop."""
    limit_torch_threads(app.config["WORKER_TORCH_THREADS"])
    model, engine = load_at_start(app)
    runner = TaskRunner(app, engine, recovery.worker_id(), model)
    preload_rest(app, runner.models)
    rq_jobs.install(runner)
    _install_emitter(app)
    housekeeper = Housekeeper(app, runner)
    housekeeper.chores()
    housekeeper.start()
    # torch and the models are ~400,000 long-lived objects: as in `daydream serve`, full
    # collections walking them would stall the side thread's saving and events.
    freeze_startup_objects()
    log.info("worker %s ready with %s", runner.worker_id, ", ".join(runner.models.names()))
    try:
        while True:
            worker = _make_rq_worker(app)
            try:
                worker.work(burst=burst, logging_level="INFO")
            except redis.RedisError as error:
                log.warning("lost Redis (%s); retrying", error)
            if burst or DaydreamWorker.stopping:
                break
            time.sleep(RESTART_PAUSE)  # RQ's loop ended on a Redis error: try again
    finally:
        runner.close(60)  # the last task's saving and events
        housekeeper.stop()


def _make_rq_worker(app: Flask) -> DaydreamWorker:
    connection = redis_client(app)
    # Tasks first, then archives: RQ takes from the first queue with a job.
    queues = [Queue(name, connection=connection, serializer=JSONSerializer)
              for name in ALLOWED_JOBS]
    return DaydreamWorker(queues, connection=connection, serializer=JSONSerializer)


def _install_emitter(app: Flask) -> None:
    """Emit Socket.IO events through Redis as an external process (no server here)."""
    from socketio import RedisManager

    url = app.config.get("SOCKETIO_MESSAGE_QUEUE") or app.config["REDIS_URL"]
    # Flask-SocketIO's servers listen on the "flask-socketio" channel, not python-socketio's
    # default "socketio".
    app.extensions["daydream.emitter"] = RedisManager(url, channel="flask-socketio",
                                                      write_only=True)
    get_runtime(app)  # the queue and shared state, before the first job
