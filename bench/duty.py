"""Engine duty: how much of the wall time the engine is busy when the queue is saturated.

Runs the real embedded service in one process on the demo model: 50 tasks from 5 people
are submitted through the studio's endpoint (Flask test client, SQLite) before the worker
starts, then the real embedded worker thread (``daydream.worker.Worker``) loads the model
and works through them: fair pops, state transitions, progress events with previews,
progress rows, PNGs, thumbnails, image rows, the final events — everything but the engine
call goes to the side thread while the engine runs the next task. The engine the worker
loads is wrapped to time each ``generate``/``generate_batch`` call. Duty is the time inside
engine calls over the wall time from the first task's engine call to the last task's
``done`` in the database.

    .venv/bin/python bench/duty.py [--tasks 50] [--size 64] [--steps 20] [--batch 1]

``--batch 1`` (the default) turns batching off, so every task is its own engine call: the
most gaps to hide. The last line is the headline: ``duty: <fraction> (target >= 0.97)``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The script's folder holds queue.py, which would shadow the standard library's queue.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlalchemy import func, select  # noqa: E402

from bench.common import PASSWORD, build_app  # noqa: E402
from daydream import runner as runner_module  # noqa: E402
from daydream import worker as worker_module  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.models import Task  # noqa: E402

TARGET = 0.97


class TimedEngine:
    """The loaded engine, with the time spent inside its calls added up."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self.busy = 0.0
        self.calls = 0
        self.first_start: float | None = None  # time.time() of the first task's call
        self._lock = threading.Lock()
        if hasattr(engine, "generate_batch"):
            self.generate_batch = self._timed(engine.generate_batch)

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def _timed(self, call):
        def timed(*args, **kwargs):
            warm_up = args and getattr(args[0], "prompt", "") == "warm-up"
            start, wall = time.perf_counter(), time.time()
            try:
                return call(*args, **kwargs)
            finally:
                if not warm_up:
                    with self._lock:
                        self.busy += time.perf_counter() - start
                        self.calls += 1
                        if self.first_start is None:
                            self.first_start = wall
        return timed

    def generate(self, *args, **kwargs):
        """The engine's generate, timed."""
        return self._timed(self._engine.generate)(*args, **kwargs)


def main() -> None:
    """Submit, run, measure, print the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1, help="MAX_BATCH (1: no batching)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        app, emails = build_app(Path(scratch), people=args.people, MAX_BATCH=args.batch)
        clients = []
        for email in emails:
            client = app.test_client()
            client.post("/auth/login", data={"email": email, "password": PASSWORD})
            clients.append(client)
        for index in range(args.tasks):
            answer = clients[index % len(clients)].post("/studio/tasks", data={
                "prompt": f"a lighthouse at dawn, take {index}", "width": args.size,
                "height": args.size, "steps": args.steps, "cfg_scale": 7, "samples": 1,
                "seed": index, "scheduler": "Euler a"})
            assert answer.status_code == 202, answer.get_data(as_text=True)
        timed: list[TimedEngine] = []
        original = runner_module.load_engine

        def load_timed(app_, name=None):
            if args.threads:
                import torch

                torch.set_num_threads(args.threads)
            timed.append(TimedEngine(original(app_, name)))
            return timed[-1]

        # The worker's held-model cache loads through daydream.runner.load_engine.
        runner_module.load_engine = load_timed
        worker = worker_module.Worker(app).start()  # loads the model on its own thread
        worker.wait_ready(600)
        with app.app_context():
            while db.session.scalar(select(func.count(Task.id)).where(
                    Task.state.in_(("queued", "running")))):
                db.session.rollback()
                time.sleep(0.2)
            last_done = db.session.scalar(select(func.max(Task.finished_at)))
            failed = db.session.scalar(select(func.count(Task.id)).where(
                Task.state != "done"))
        worker.stop()
        engine = timed[0]
        wall = last_done.replace(tzinfo=UTC).timestamp() - engine.first_start
        duty = engine.busy / wall
        print(f"{args.tasks} tasks, {args.size} px, {args.steps} steps, batch {args.batch}, "
              f"{engine.calls} engine calls, {failed} not done")
        print(f"engine busy {engine.busy:.2f} s of {wall:.2f} s wall; "
              f"outside the engine {1000 * (wall - engine.busy) / args.tasks:.1f} ms per task")
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)"
              f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"duty: {duty:.3f} (target >= {TARGET})")


if __name__ == "__main__":
    main()
