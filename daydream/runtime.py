"""Per-app runtime objects: the queue, presence and live previews.

Created on first use (never at import or in ``create_app``) and kept on the app, so a test
app gets its own and the embedded server one of each.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app

from daydream.queue import TaskQueue


@dataclass
class Presence:
    """Which users have a page open, and since when they have none."""

    started: float = field(default_factory=time.monotonic)
    open_sockets: dict[int, int] = field(default_factory=dict)
    last_seen: dict[int, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connected(self, user_id: int) -> None:
        """A page of the user connected."""
        with self.lock:
            self.open_sockets[user_id] = self.open_sockets.get(user_id, 0) + 1
            self.last_seen[user_id] = time.monotonic()

    def disconnected(self, user_id: int) -> None:
        """A page of the user went away."""
        with self.lock:
            self.open_sockets[user_id] = max(0, self.open_sockets.get(user_id, 0) - 1)
            self.last_seen[user_id] = time.monotonic()

    def away_for(self, user_id: int) -> float:
        """Seconds since the user last had a page open (0 while one is open)."""
        with self.lock:
            if self.open_sockets.get(user_id):
                return 0.0
            return time.monotonic() - self.last_seen.get(user_id, self.started)


@dataclass
class Runtime:
    """What one Daydream app holds in memory while it runs."""

    queue: TaskQueue
    presence: Presence = field(default_factory=Presence)
    # task id → the newest preview JPEG, for pages and A1111 clients that poll.
    previews: dict[int, bytes] = field(default_factory=dict)
    # The worker running in this process, if any (its engine names the loaded model).
    worker: object | None = None


_lock = threading.Lock()


def get_runtime(app: Flask | None = None) -> Runtime:
    """The app's runtime, created on first use."""
    app = app or current_app._get_current_object()
    with _lock:
        runtime = app.extensions.get("daydream.runtime")
        if runtime is None:
            runtime = Runtime(queue=_make_queue(app))
            app.extensions["daydream.runtime"] = runtime
    return runtime


def _make_queue(app: Flask) -> TaskQueue:
    from daydream.config import ConfigError
    from daydream.queue.local import LocalQueue

    backend = app.config.get("QUEUE_BACKEND", "local")
    if backend != "local":
        raise ConfigError(f"DAYDREAM_QUEUE_BACKEND={backend!r} is not available; use 'local'.")
    return LocalQueue(app.config["QUEUE_MAX"])
