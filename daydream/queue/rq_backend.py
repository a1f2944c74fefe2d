"""The Redis backend: fair lanes in Redis, delivered to ``daydream worker`` processes by RQ.

Each submission adds the task id to its user's lane (``redis_lanes``) and enqueues one RQ job
that says "run the next task": the job pops the fairest waiting id when a worker is free to
run it, so RQ's first-in-first-out order never decides who goes next. Jobs carry only a task
id, serialized as JSON (never a pickle), and run only if they name ``RUN_NEXT``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from daydream.queue.redis_lanes import RedisLanes

QUEUE_NAME = "daydream"
RUN_NEXT = "daydream.queue.rq_jobs.run_next"
# Account archives (services.archive_jobs) have a queue of their own, so a generation waiting
# is always taken first, and one function each queue may run: the allow-list of workers.
ARCHIVE_QUEUE = "daydream-archives"
BUILD_ARCHIVE = "daydream.queue.rq_jobs.build_archive"
ALLOWED_JOBS = {QUEUE_NAME: RUN_NEXT, ARCHIVE_QUEUE: BUILD_ARCHIVE}


class RQQueue:
    """The TaskQueue of a scaled deployment."""

    def __init__(self, client: redis.Redis, job_timeout: int, maxsize: int = 0) -> None:
        self.redis = client
        self.job_timeout = job_timeout
        self.lanes = RedisLanes(client, maxsize)
        self.rq = Queue(QUEUE_NAME, connection=client, serializer=JSONSerializer)

    def push(self, task_id: int, user_id: int, model: str | None = None) -> None:
        """Put the id (and its model) in its user's lane and wake one worker for it."""
        self.lanes.push(task_id, user_id, model)
        self._enqueue_token(task_id)

    def _enqueue_token(self, task_id: int) -> None:
        self.rq.enqueue(RUN_NEXT, task_id, job_id=f"task-{task_id}-{secrets.token_hex(4)}",
                        job_timeout=self.job_timeout, result_ttl=60, failure_ttl=24 * 3600)

    def pop(self, timeout: float | None = None, held: Collection[str] | None = None,
            elsewhere: Collection[str] = (), worker_id: str | None = None) -> int | None:
        """Take the next id in fair order, with model affinity when ``held`` is given (never
        waits: an RQ job only runs when one waits)."""
        return self.lanes.pop(held, elsewhere)

    def reserve_idle_worker(self, model: str | None) -> str | None:
        """None: RQ workers are in other processes; every task goes through the queue."""
        return None

    def hand(self, worker_id: str, task_id: int | None, row: Any = None) -> None:
        """Nothing to hand: no worker is ever reserved here."""

    def handed_row(self, task_id: int) -> Any:
        """None: no task is handed over here."""
        return None

    def pass_on(self) -> None:
        """Give back the wake-up job of a task this worker left to another (see rq_jobs)."""
        self._enqueue_token(0)

    def model_of(self, task_id: int) -> str | None:
        """The model a waiting task asks for."""
        return self.lanes.model_of(task_id)

    def remove(self, task_id: int) -> bool:
        """Drop a waiting id (its RQ job then finds nothing, or another task, to run)."""
        return self.lanes.remove(task_id)

    def order(self) -> list[int]:
        """Waiting ids in the order they will run."""
        return self.lanes.order()

    def top_up(self) -> int:
        """Enqueue a job for every waiting id that has none (after Redis lost some); count."""
        missing = len(self.lanes) - self.rq.count
        for _ in range(max(0, missing)):
            self._enqueue_token(0)
        return max(0, missing)

    def __len__(self) -> int:
        return len(self.lanes)
