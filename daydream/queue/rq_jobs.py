"""The functions RQ workers run: the fairest waiting task, or one account archive."""

from __future__ import annotations

import time
from typing import Any

# Set by ``daydream worker`` once its model is loaded; the job runs in that same process.
_runner: Any = None
# Seconds a worker waits after passing on a wake-up job it could not use, so that it does not
# take the same job straight back while the worker that holds the task's model is busy.
PASS_ON_PAUSE = 0.5


def install(runner: Any) -> None:
    """Make ``runner`` (a loaded ``TaskRunner``) the one this process's jobs use."""
    global _runner
    _runner = runner


def run_next(submitted_task_id: int) -> int | None:
    """Run the next task in fair order (not necessarily ``submitted_task_id``); its id."""
    if _runner is None:
        raise RuntimeError("run_next runs only inside `daydream worker`")
    queue = _runner.queue
    task_id = queue.pop(**_runner.affinity())
    if task_id is not None:
        _runner.run(task_id, wait=False)  # its saving overlaps the next job's engine call
    elif len(queue):
        # Everything waiting is for models other live workers hold: one job per waiting task
        # must stay, so this one goes back for them.
        queue.pass_on()
        time.sleep(PASS_ON_PAUSE)
    return task_id


def build_archive(archive_id: int) -> bool:
    """Build one account archive in this worker process; False if another builder had it."""
    if _runner is None:
        raise RuntimeError("build_archive runs only inside `daydream worker`")
    from daydream.services import archive_jobs

    return archive_jobs.build_here(_runner.app, archive_id)
