"""Service overhead: end-to-end time of a task through Daydream against the bare engine call.

Runs the real stack in one process on the demo model: the studio's submit endpoint (Flask
test client, SQLite), validation, pricing, the credit charge, the fair queue, the worker's
task run with per-step progress events, previews and progress rows, PNGs with metadata,
thumbnails, image rows and the state transitions. Each round times the bare
``engine.generate`` call and one task through the service with the same settings, back to
back, so both see the same machine.

Both run torch on the same thread: the service task is popped from the queue and run by
``Worker.run`` here rather than on the worker thread, because two threads taking turns at
torch leave each other's OpenMP teams spinning and would slow whichever ran second (we
measured 2.4x on the bare call), which is not what the service costs.

    .venv/bin/python bench/service.py [--rounds 10] [--sizes 64,256]

The last line is the headline: ``service: ratio=<x> (target <= 1.15)``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydream import create_app  # noqa: E402
from daydream.config import TestConfig  # noqa: E402
from daydream.engine.params import GenerationParams  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.runtime import get_runtime  # noqa: E402
from daydream.services import users  # noqa: E402
from daydream.worker import Worker, load_engine, warm_up  # noqa: E402

TARGET = 1.15
STEPS = 20
PROMPT = "a lighthouse at dawn"


def build_app(folder: Path):
    """An app in a scratch folder (SQLite, local queue) with one user who can afford it all."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.sqlite3'}",
                    MEDIA_PATH=str(folder / "media"), QUEUE_MAX_PER_USER=100,
                    STARTING_CREDITS=1_000_000, MAX_PIXELS=1024 * 1024)
    app = create_app(settings, instance_path=folder)
    with app.app_context():
        db.create_all()
        users.create_user("bench@example.com", "bench password")
    return app


def through_service(app, client, worker: Worker, size: int, seed: int) -> float:
    """POST one task, run it to the end, check it is done; seconds for all of it."""
    form = {"prompt": PROMPT, "width": size, "height": size, "steps": STEPS, "cfg_scale": 7,
            "samples": 1, "seed": seed, "scheduler": "Euler a"}
    start = time.perf_counter()
    task_id = client.post("/studio/tasks", data=form).json["task"]["id"]
    worker.run(get_runtime(app).queue.pop(timeout=0))
    elapsed = time.perf_counter() - start
    status = client.get(f"/studio/tasks/{task_id}").json
    if status["state"] != "done" or len(status["images"]) != 1:
        raise SystemExit(f"task did not finish: {status['state']} {status['error']}")
    return elapsed


def bare(engine, size: int, seed: int) -> float:
    """The same generation as a plain engine call: no progress, no storage, no database."""
    params = GenerationParams(prompt=PROMPT, width=size, height=size, steps=STEPS,
                              cfg_scale=7, samples=1, seed=seed, scheduler="Euler a")
    start = time.perf_counter()
    engine.generate(params, preview_every=None)
    return time.perf_counter() - start


def main() -> None:
    """Run the rounds and print a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--sizes", default="64,256")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        app = build_app(Path(scratch))
        engine = load_engine(app)
        warm_up(engine)
        worker = Worker(app, engine=engine)  # not started: this thread runs its tasks
        client = app.test_client()
        client.post("/auth/login", data={"email": "bench@example.com",
                                         "password": "bench password"})
        ratios = []
        print(f"{'size':>6} {'bare s':>8} {'service s':>10} {'ratio':>7}   "
              f"({args.rounds} rounds, {STEPS} steps, previews every step, median)")
        for size in (int(s) for s in args.sizes.split(",")):
            bare_times, service_times = [], []
            for round_index in range(args.rounds):
                bare_times.append(bare(engine, size, round_index))
                service_times.append(through_service(app, client, worker, size, round_index))
            ratio = statistics.median(service_times) / statistics.median(bare_times)
            ratios.append(ratio)
            print(f"{size:>6} {statistics.median(bare_times):>8.3f} "
                  f"{statistics.median(service_times):>10.3f} {ratio:>7.3f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)")
    print(f"service: ratio={max(ratios):.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
