"""Queue overhead: the fixed cost of one task, in-process queue vs RQ on Redis, in one run.

A zero-work engine (one 64×64 image, one progress step, no torch) isolates what the service
adds around generation: submit (validation, charge, insert, enqueue), the wake-up of the
worker, the fair pop, the state transitions, a progress event, the PNG + thumbnail and
image row, the final event and the finish event that wakes the submitter. Tasks go one at a
time (submit, wait for done, next), so this is the latency a task pays with an idle worker,
not a throughput under a deep queue. Both backends use SQLite and the same ``TaskRunner``:
in-process is the embedded worker thread on the local queue; RQ is an RQ ``SimpleWorker``
in this process's main thread (as in `daydream worker`) paying for the RQ job (JSON), the
Lua pop, Redis shared state and pub/sub. A private redis-server is started on a free port
(never the shared one).

    .venv/bin/python bench/queue_overhead.py [--tasks 100]

The last line is the headline: ``queue: <ms> ms per task on RQ (target <= 40)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py: drop its folder from the path so the standard library's
# ``queue`` (which engineio imports) is not shadowed by it, and put the project there.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from PIL import Image  # noqa: E402

from daydream import create_app  # noqa: E402
from daydream.config import TestConfig  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.models import User  # noqa: E402
from daydream.runner import TaskRunner  # noqa: E402
from daydream.runtime import get_runtime  # noqa: E402
from daydream.services import tasks, users  # noqa: E402

TARGET_MS = 40.0
FORM = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 1, "cfg_scale": 7,
        "samples": 1, "scheduler": "Euler"}


class ZeroWorkEngine:
    """Answers at once with a blank image: what is left is the service's own cost."""

    model_name = "zero-work"

    def generate(self, params, init_image=None, on_step=None, should_stop=None,
                 **_preview_options):
        """One step reported, one blank image returned (the engine's result shape)."""
        if on_step:
            on_step(SimpleNamespace(step=1, total=1, elapsed=0.0, eta=0.0, preview_jpeg=None))
        if should_stop:
            should_stop()
        return SimpleNamespace(images=[Image.new("RGB", (params.width, params.height))],
                               seeds=[params.seed], nsfw=[False], steps_run=1)


def build_app(folder: Path, **extra):
    """An app in a scratch folder with one user who can afford every task."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.sqlite3'}",
                    MEDIA_PATH=str(folder / "media"), QUEUE_MAX=100_000,
                    QUEUE_MAX_PER_USER=100_000, STARTING_CREDITS=10_000_000, **extra)
    app = create_app(settings, instance_path=folder)
    with app.app_context():
        db.create_all()
        users.create_user("bench@example.com", "violet harbour lantern 93")
    return app


def one_by_one(app, count: int, latencies: list[float]) -> None:
    """Submit a task, wait for its finish event, then the next: seconds from submit to done."""
    with app.app_context():
        user = db.session.scalar(db.select(User))
        state = get_runtime(app).state
        for _ in range(count):
            start = time.perf_counter()
            task = tasks.submit(user, FORM)

            def finished(task=task) -> bool:
                db.session.refresh(task)
                done = task.is_finished
                db.session.rollback()
                return done

            if not state.wait_finished(task.uuid, 30, finished) or task.state != "done":
                raise SystemExit(f"task {task.id} did not finish: {task.state} {task.error}")
            latencies.append(time.perf_counter() - start)
        db.session.remove()


def in_process(folder: Path, count: int) -> list[float]:
    """Latencies on the embedded default: local queue, the worker thread."""
    from daydream.worker import Worker

    app = build_app(folder)
    worker = Worker(app, engine=ZeroWorkEngine()).start()
    worker.wait_ready(30)
    latencies: list[float] = []
    try:
        one_by_one(app, count, latencies)
    finally:
        worker.stop()
    return latencies


def on_rq(folder: Path, count: int, redis_url: str) -> list[float]:
    """Latencies on RQ: this thread is the worker (RQ wants signals), another submits."""
    from daydream.queue import rq_jobs
    from daydream.worker_process import _install_emitter, _make_rq_worker

    app = build_app(folder, REDIS_URL=redis_url, QUEUE_BACKEND="rq",
                    SOCKETIO_MESSAGE_QUEUE=redis_url)
    runner = TaskRunner(app, ZeroWorkEngine(), "bench")
    rq_jobs.install(runner)
    _install_emitter(app)
    latencies: list[float] = []
    submitter = threading.Thread(target=one_by_one, args=(app, count, latencies))
    submitter.start()
    _make_rq_worker(app).work(max_jobs=count, logging_level="WARNING")
    submitter.join(60)
    return latencies


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A private redis-server (AOF on, as in production) on a free loopback port."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def main() -> None:
    """Run both backends and print a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name in ("local", "rq", "redis"):
            (root / name).mkdir()
        redis_process, redis_url = start_redis(root / "redis")
        try:
            local = statistics.median(in_process(root / "local", args.tasks))
            rq = statistics.median(on_rq(root / "rq", args.tasks, redis_url))
        finally:
            redis_process.terminate()
            redis_process.wait(10)
    print(f"{'backend':<12} {'ms per task':>12}   "
          f"(median of {args.tasks}, submit → done one at a time, zero-work engine, SQLite)")
    print(f"{'in-process':<12} {local * 1000:>12.1f}")
    print(f"{'RQ':<12} {rq * 1000:>12.1f}   (×{rq / local:.2f} the in-process cost)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)")
    print(f"queue: {rq * 1000:.1f} ms per task on RQ (target <= {TARGET_MS:.0f})")


if __name__ == "__main__":
    main()
