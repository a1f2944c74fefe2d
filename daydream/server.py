"""The production web server behind ``daydream serve``: gunicorn, threads, simple-websocket.

Flask-SocketIO's threading mode serves WebSockets through simple-websocket on gunicorn's
threaded worker (one thread per open socket). It is always one worker process: Socket.IO's
long-polling needs every request of a client to reach the same process, and in the embedded
default the in-process queue and its worker thread live in that process. To scale out, run
several ``daydream serve`` behind a proxy with sticky sessions, with DAYDREAM_REDIS_URL set.

Shutdown: SIGTERM is graceful (stop accepting, close the Socket.IO connections so pages
reconnect to the next server, let the embedded worker finish its task within
DAYDREAM_SHUTDOWN_TIMEOUT); SIGINT (Ctrl-C) is quick. Either way the process exits cleanly,
and a task still running is left to the next start's reconcile.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from daydream.embedded import start_embedded_worker, uses_embedded_worker


class DaydreamServer(BaseApplication):
    """gunicorn run in-process: one threaded worker that builds the app after the fork."""

    def __init__(self, make_app: Callable[[], Flask], host: str, port: int, threads: int,
                 shutdown_timeout: int) -> None:
        self.make_app = make_app
        self.options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            # The worker process is killed if its main loop is silent this long.
            "timeout": 120,
            "graceful_timeout": shutdown_timeout,
            "proc_name": "daydream",
            "post_fork": self._post_fork,
            "post_worker_init": self._post_worker_init,
            "worker_int": self._worker_int,
            "worker_exit": self._worker_exit,
        }
        self.shutdown_timeout = shutdown_timeout
        self.gunicorn_worker: Any = None
        self.embedded: Any = None
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn (no command line or config file of its own)."""
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn ≥ 24 opens a control socket at one fixed path per user; two servers on
        # one machine would fight over it, and nothing here uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        """Build the app in the worker process and, embedded, load the model before serving."""
        app = self.make_app()
        if uses_embedded_worker(app):
            self.embedded = self._start_embedded(app)
        freeze_startup_objects()
        return app

    def _start_embedded(self, app: Flask) -> Any:
        from daydream.config import ConfigError
        from daydream.engine.errors import EngineError

        model = app.config.get("MODEL") or "the demo model (built offline on first start)"
        click.echo(f" * Loading {model} …")
        try:
            worker = start_embedded_worker(app)
            while not worker.ready.wait(1):
                self.gunicorn_worker.notify()  # loading a big model is not a hung worker
            worker.wait_ready(0)
        except (ConfigError, EngineError) as error:
            prefix = "Could not load the model: " if isinstance(error, EngineError) else ""
            click.echo(f"Error: {prefix}{error}", err=True)
            sys.stderr.flush()
            sys.exit(Arbiter.WORKER_BOOT_ERROR)  # the master stops instead of retrying
        click.echo(f" * Model ready: {worker.engine.model_name}")
        return worker

    def _post_fork(self, server: Any, worker: Any) -> None:
        self.gunicorn_worker = worker

    def _post_worker_init(self, worker: Any) -> None:
        # gunicorn's own SIGTERM handler only stops accepting; ours also lets go of the open
        # Socket.IO connections (else shutdown waits for them) and stops the worker thread.
        graceful = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: Any) -> None:
            graceful(signum, frame)
            threading.Thread(target=self._begin_shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, on_term)

    def _worker_int(self, worker: Any) -> None:
        self._begin_shutdown(wait=1)

    def _begin_shutdown(self, wait: float | None = None) -> None:
        close_socketio_connections()
        if self.embedded is not None:
            self.embedded.stop(timeout=self._grace() if wait is None else wait)

    def _grace(self) -> float:
        return max(1.0, self.shutdown_timeout - 2)

    def _worker_exit(self, server: Any, worker: Any) -> None:
        thread = getattr(self.embedded, "_thread", None)
        if thread is None:
            return
        deadline = time.monotonic() + self._grace()
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(0.2)
        runner = getattr(self.embedded, "runner", None)
        if runner is not None and not thread.is_alive():  # the last task's saving and events
            runner.close(max(0.1, deadline - time.monotonic()))
        if thread.is_alive():
            # A task is still running: leave it to the next start's reconcile. Skipping the
            # interpreter's teardown keeps torch's threads from aborting the exit.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def freeze_startup_objects() -> None:
    """Hide what start-up built from the garbage collector, and collect less often.

    Start-up objects (modules, the app; embedded, torch and the model: ~430,000) live as
    long as the process, and each full collection walked them all, stopping every thread
    for 0.3–0.5 s every ~10 s under load. Frozen, full collections still came every ~3 s
    (20–140 ms each) at CPython's default thresholds (700, 10, 10); at (20,000, 50, 100) none
    came in 30 s of load, while a request's own garbage still goes in young collections
    (measured with bench/load.py, 50 people).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def close_socketio_connections() -> None:
    """Drop every Socket.IO connection without a goodbye, so the pages reconnect."""
    from daydream.extensions import socketio

    server = getattr(socketio, "server", None)
    if server is None:
        return
    for socket in list(server.eio.sockets.values()):
        try:
            socket.close(wait=False, abort=True)
        except Exception:  # noqa: BLE001 - a half-closed socket must not stop the shutdown
            pass
