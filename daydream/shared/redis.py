"""Shared state in Redis: every web process and worker of a scaled deployment sees it.

Reads on a worker's hot path (the cancel flag at every step) never raise: an unreachable
Redis means "no news", and the database copy of the flag still reaches the worker through
its heartbeat.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

PREFIX = "daydream:"
PREVIEW_TTL = 600  # seconds: a preview outlives a worker that died mid-task only briefly
CANCEL_TTL = 24 * 3600
RECHECK_SECONDS = 5.0  # a waiter also checks the database this often, in case a wake was lost
SIGNAL_TTL = 60  # seconds a finish signal is remembered, for a waiter that subscribes after it


class RedisState:
    """Shared state in one Redis database."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def _quietly(self, what: str, action: Callable[[], object], default=None):
        try:
            return action()
        except redis.RedisError as error:
            log.warning("shared state: %s failed: %s", what, error)
            return default

    def request_cancel(self, task_id: int) -> None:
        """Flag a running task to stop at its next step, on whichever machine runs it."""
        self._quietly("cancel", lambda: self.redis.set(
            f"{PREFIX}cancel:{task_id}", 1, ex=CANCEL_TTL))

    def cancel_requested(self, task_id: int) -> bool:
        """Whether a stop was asked for (False when Redis is unreachable)."""
        return bool(self._quietly("cancel check", lambda: self.redis.exists(
            f"{PREFIX}cancel:{task_id}"), 0))

    def clear_cancel(self, task_id: int) -> None:
        """Forget the stop flag of a finished task."""
        self._quietly("clear cancel", lambda: self.redis.delete(f"{PREFIX}cancel:{task_id}"))

    def set_progress(self, task_id: int, step: int, total: int) -> None:
        """Keep the step reached for a while."""
        self._quietly("progress", lambda: self.redis.set(
            f"{PREFIX}progress:{task_id}", f"{step}/{total}", ex=PREVIEW_TTL))

    def progress(self, task_id: int) -> tuple[int, int] | None:
        """The step reached, if known (None too when Redis is unreachable)."""
        value = self._quietly("progress read", lambda: self.redis.get(
            f"{PREFIX}progress:{task_id}"))
        try:
            step, total = (int(part) for part in value.split(b"/"))
        except (AttributeError, ValueError):
            return None
        return step, total

    def clear_progress(self, task_id: int) -> None:
        """Forget the step."""
        self._quietly("clear progress", lambda: self.redis.delete(
            f"{PREFIX}progress:{task_id}"))

    def set_preview(self, task_id: int, jpeg: bytes) -> None:
        """Keep the newest preview for a while."""
        self._quietly("preview", lambda: self.redis.set(
            f"{PREFIX}preview:{task_id}", jpeg, ex=PREVIEW_TTL))

    def preview(self, task_id: int) -> bytes | None:
        """The newest preview, if any."""
        return self._quietly("preview read", lambda: self.redis.get(f"{PREFIX}preview:{task_id}"))

    def clear_preview(self, task_id: int) -> None:
        """Drop a preview."""
        self._quietly("clear preview", lambda: self.redis.delete(f"{PREFIX}preview:{task_id}"))

    def page_opened(self, user_id: int) -> None:
        """A page of the user connected (to any web process)."""
        with self.redis.pipeline() as pipe:
            pipe.hincrby(f"{PREFIX}pages", user_id, 1)
            pipe.hset(f"{PREFIX}seen", user_id, time.time())
            self._quietly("presence", pipe.execute)

    def page_closed(self, user_id: int) -> None:
        """A page of the user went away."""
        def close() -> None:
            if self.redis.hincrby(f"{PREFIX}pages", user_id, -1) < 0:
                self.redis.hset(f"{PREFIX}pages", user_id, 0)
            self.redis.hset(f"{PREFIX}seen", user_id, time.time())
        self._quietly("presence", close)

    def away_for(self, user_id: int) -> float:
        """Seconds since the user last had a page open anywhere (0 while one is open)."""
        def read() -> float:
            self.redis.hsetnx(f"{PREFIX}seen", "started", time.time())
            pages, seen, started = self.redis.hmget(f"{PREFIX}pages", user_id) + \
                self.redis.hmget(f"{PREFIX}seen", user_id, "started")
            if pages and int(pages) > 0:
                return 0.0
            return time.time() - float(seen or started)
        return self._quietly("presence read", read, 0.0)

    def worker_alive(self, worker_id: str, models: list[str], ttl: float) -> None:
        """Record a live worker and its models (a JSON list); it drops out ``ttl`` seconds
        after its last call."""
        self._quietly("worker heartbeat", lambda: self.redis.set(
            f"{PREFIX}worker:{worker_id}", json.dumps(list(models)), ex=max(1, round(ttl))))

    def worker_gone(self, worker_id: str) -> None:
        """Forget a worker that stopped on purpose."""
        self._quietly("worker gone", lambda: self.redis.delete(f"{PREFIX}worker:{worker_id}"))

    def models(self) -> dict[str, list[str]]:
        """worker id → loaded models, for every worker whose heartbeat is fresh."""
        def read() -> dict[str, list[str]]:
            keys = list(self.redis.scan_iter(f"{PREFIX}worker:*", count=100))
            values = self.redis.mget(keys) if keys else []
            start = len(f"{PREFIX}worker:")
            return {key.decode()[start:]: _model_list(value.decode())
                    for key, value in zip(keys, values, strict=True) if value is not None}
        return self._quietly("worker list", read, {})

    def task_finished(self, task_uuid: str) -> None:
        """Wake every process waiting for this task, and remember the signal a while."""
        def send() -> None:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(f"{PREFIX}finished:{task_uuid}", 1, ex=SIGNAL_TTL)
                pipe.publish(f"{PREFIX}finished:{task_uuid}", 1)
                pipe.execute()

        self._quietly("finish event", send)

    def wait_finished(self, task_uuid: str, timeout: float,
                      is_finished: Callable[[], bool], seen_unfinished: bool = False) -> bool:
        """Subscribe, then check the database, then sleep until the finish event arrives
        (published once the end is committed: it needs no second look).
        ``seen_unfinished``: the caller has just seen the task unfinished, so the first look
        is at the remembered signal (one Redis read), not the database."""
        deadline = time.monotonic() + timeout
        key = f"{PREFIX}finished:{task_uuid}"
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            try:
                pubsub.subscribe(key)
                if seen_unfinished and self.redis.exists(key):
                    return True
            except redis.RedisError as error:
                log.warning("finish events unavailable: %s", error)
                pubsub, seen_unfinished = None, False
            # When to look at the database next: at once, unless the caller just saw the
            # task unfinished; then every RECHECK_SECONDS, and at the deadline.
            next_look = time.monotonic() + (RECHECK_SECONDS if seen_unfinished else 0)
            while True:
                now = time.monotonic()
                if now >= next_look or now >= deadline:
                    if is_finished():
                        return True
                    if now >= deadline:
                        return False
                    next_look = now + RECHECK_SECONDS
                wait = min(deadline, next_look) - now
                try:
                    if pubsub is None:
                        raise redis.ConnectionError("not subscribed")
                    # None also when the subscription's own confirmation arrives: wait on.
                    if pubsub.get_message(timeout=wait) is not None:
                        return True
                except redis.RedisError:
                    time.sleep(wait)
        finally:
            if pubsub is not None:
                pubsub.close()


def _model_list(value: str) -> list[str]:
    """A worker's models: a JSON list, or one plain name (a worker of an older version)."""
    try:
        models = json.loads(value)
    except ValueError:
        return [value]
    return [str(name) for name in models] if isinstance(models, list) else [value]
