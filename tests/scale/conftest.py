"""Scale-out fixtures: a private redis-server (AOF on), PostgreSQL, and `daydream worker`
processes; the test process plays the web process.

Every test here needs real Redis and PostgreSQL: skipped with the reason locally when they
are missing, failed under CI=true. Redis is always our own server on a free loopback port,
never the shared one, so fault tests may stop and restart it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import make_key  # noqa: F401  (the API tests' key factory)
from tests.services import port_open, reset_postgres, unavailable

ROOT = Path(__file__).resolve().parents[2]
FAST_HEARTBEAT = {"WORKER_HEARTBEAT": 1, "WORKER_DEAD_AFTER": 4, "RECONCILE_EVERY": 2}


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float = 60, every: float = 0.1):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


class RedisServer:
    """A redis-server of our own, with append-only persistence in a folder of the test's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        """Start (or restart) the server on the same port and data folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open("127.0.0.1", self.port), timeout=10, every=0.05)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: clean; SIGKILL: a crash)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A private redis-server for this module's tests."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postgres_url() -> str:
    """This process's PostgreSQL schema (reset again by every test's ``database_url``)."""
    return reset_postgres()


@pytest.fixture
def database_url(postgres_url) -> str:
    """Scale tests always run on PostgreSQL, in a fresh schema."""
    return reset_postgres()


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    """The instance folder web and workers share (media, demo model)."""
    return tmp_path_factory.mktemp("instance")


@pytest.fixture
def app_settings(app_settings, redis_server, instance) -> dict:
    """The web side: RQ on our Redis, Socket.IO over it, fast heartbeats."""
    app_settings.update(REDIS_URL=redis_server.url, QUEUE_BACKEND="rq",
                        SOCKETIO_MESSAGE_QUEUE=redis_server.url,
                        MEDIA_PATH=str(instance / "media"), **FAST_HEARTBEAT)
    return app_settings


@pytest.fixture
def app(app_settings, instance, redis_server):
    """The web app (this process), on a fresh schema and an empty Redis."""
    import redis

    from daydream import create_app
    from daydream.extensions import db

    redis.Redis.from_url(redis_server.url).flushdb()
    app = create_app(app_settings, instance_path=instance)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class Workers:
    """`daydream worker` processes started by a test; stopped (warmly) at its end."""

    def __init__(self, redis_url: str, database_url: str, instance: Path, logs: Path) -> None:
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
            "DAYDREAM_ENV": "production", "DAYDREAM_SECRET_KEY": "scale-test-secret",
            "DAYDREAM_INSTANCE_PATH": str(instance), "DAYDREAM_DATABASE_URL": database_url,
            "DAYDREAM_REDIS_URL": redis_url,
            **{f"DAYDREAM_{name}": str(value) for name, value in FAST_HEARTBEAT.items()},
            # One task per engine call unless a test asks for batching: these tests watch
            # the fair order and single tasks (batching has tests/scale/test_batching_rq.py).
            "DAYDREAM_MAX_BATCH": "1",
        }
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int = 1, **settings) -> list[subprocess.Popen]:
        """Start ``count`` workers (extra ``DAYDREAM_*`` settings as keywords)."""
        env = {**self.env, **{f"DAYDREAM_{k}": str(v) for k, v in settings.items()}}
        started = []
        for _ in range(count):
            with open(self.logs / f"worker-{len(self.processes)}.log", "w") as log:
                process = subprocess.Popen(
                    [sys.executable, "-c", "from daydream.cli import main; main()", "worker"],
                    env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            self.processes.append(process)
            started.append(process)
        return started

    def wait_ready(self, redis_url: str, count: int, timeout: float = 90) -> None:
        """Wait until ``count`` workers have announced their loaded model in Redis."""
        import redis

        client = redis.Redis.from_url(redis_url)
        wait_until(lambda: len(list(client.scan_iter("daydream:worker:*"))) >= count,
                   timeout=timeout, every=0.2)

    def log_text(self) -> str:
        """Everything the workers wrote (for assertion messages)."""
        return "\n".join(path.read_text() for path in sorted(self.logs.glob("worker-*.log")))

    def stop_all(self) -> None:
        """SIGTERM (warm shutdown) each live worker, then make sure it is gone."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def workers(redis_server, database_url, instance, tmp_path) -> Iterator[Workers]:
    """Start worker processes with ``workers.start(n)``; all are stopped after the test."""
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
    group = Workers(redis_server.url, database_url, instance, tmp_path)
    yield group
    group.stop_all()
