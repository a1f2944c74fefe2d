"""The embedded default's worker: a thread inside the one web process.

With the in-process queue, a task submitted to a process can only be run by that process's
worker thread, so the site must be exactly one process. A lock file in the instance folder
makes a second process refuse to start instead of stealing the first one's tasks.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import IO, Any

from flask import Flask

from daydream.config import ConfigError

log = logging.getLogger(__name__)

LOCK_NAME = "embedded-worker.lock"
ONE_PROCESS = (
    "Embedded mode: the in-process queue and its worker run inside THIS web process. "
    "Run exactly one process (e.g. gunicorn -w 1 --threads 100). To run several web "
    "processes, set DAYDREAM_REDIS_URL and start `daydream worker` processes."
)


class SecondProcess(ConfigError):
    """Another process already runs the in-process queue of this instance."""


def uses_embedded_worker(app: Flask) -> bool:
    """Whether tasks run in this process (the in-process queue) rather than in workers."""
    return app.config.get("QUEUE_BACKEND", "local") == "local"


def claim_instance(instance_path: str | Path) -> IO[str]:
    """Take the instance's embedded-worker lock for the life of this process, or refuse."""
    path = Path(instance_path) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # held open until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SecondProcess(
            f"Another Daydream process already runs the in-process queue of {path.parent}. "
            "The embedded default is one process only: stop the other one, or set "
            "DAYDREAM_REDIS_URL and run `daydream worker` processes to scale out.") from None
    return handle


def start_embedded_worker(app: Flask, engine: Any = None) -> Any:
    """Claim the instance, say loudly that this is one process only, start the worker thread.

    The caller waits for ``worker.ready`` (or calls ``wait_ready``) before serving.
    """
    from daydream.worker import Worker

    lock = claim_instance(app.instance_path)
    log.warning(ONE_PROCESS)
    worker = Worker(app, engine=engine).start()
    worker.instance_lock = lock  # released when the process exits
    return worker
