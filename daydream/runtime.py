"""Per-app runtime objects: the queue and the shared state (cancel flags, previews, presence).

Created on first use (never at import or in ``create_app``) and kept on the app, so a test
app gets its own and each process one of each. With ``DAYDREAM_REDIS_URL`` both live in
Redis and every process of the deployment sees the same; otherwise in this process's memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app

from daydream.queue import TaskQueue
from daydream.shared import SharedState


@dataclass
class Runtime:
    """What one Daydream process holds while it runs."""

    queue: TaskQueue
    state: SharedState
    # The worker running in this process, if any (its engine names the loaded model).
    worker: object | None = None


_lock = threading.Lock()


def get_runtime(app: Flask | None = None) -> Runtime:
    """The app's runtime, created on first use."""
    app = app or current_app._get_current_object()
    with _lock:
        runtime = app.extensions.get("daydream.runtime")
        if runtime is None:
            runtime = Runtime(queue=_make_queue(app), state=_make_state(app))
            app.extensions["daydream.runtime"] = runtime
    return runtime


def redis_client(app: Flask):
    """A Redis client for the configured URL (it connects on first use)."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # One quick retry, not redis-py's default of several with backoff: a worker checks the
    # cancel flag at every step, and during an outage each check must fail fast.
    return redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=10,
                                socket_connect_timeout=2, health_check_interval=15,
                                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1))


def _make_queue(app: Flask) -> TaskQueue:
    from daydream.config import ConfigError

    backend = app.config.get("QUEUE_BACKEND", "local")
    if backend == "local":
        from daydream.queue.local import LocalQueue

        # The database counts the bounds (exactly, under the charge's row lock); the queue
        # itself never refuses a task that was accepted and charged.
        return LocalQueue(maxsize=0)
    if backend == "rq":
        if not app.config.get("REDIS_URL"):
            raise ConfigError("DAYDREAM_QUEUE_BACKEND=rq needs DAYDREAM_REDIS_URL.")
        from daydream.queue.rq_backend import RQQueue

        return RQQueue(redis_client(app), job_timeout=app.config["JOB_TIMEOUT"])
    raise ConfigError(f"DAYDREAM_QUEUE_BACKEND={backend!r} is not available; "
                      "use 'local' or 'rq'.")


def _make_state(app: Flask) -> SharedState:
    if app.config.get("REDIS_URL"):
        from daydream.shared.redis import RedisState

        return RedisState(redis_client(app))
    from daydream.shared.memory import MemoryState

    return MemoryState()
