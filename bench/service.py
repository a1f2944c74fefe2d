"""Service overhead: end-to-end time of a task through Daydream against the bare engine call.

Runs the real stack in one process: the Flask app (SQLite), the studio's submit endpoint, the
fair queue, the worker thread with progress events, previews, PNG metadata and thumbnails, on
the demo model. Each round times the bare ``engine.generate`` call and one task submitted
through the service with the same settings, back to back, so both see the same machine.

    .venv/bin/python bench/service.py [--rounds 8] [--sizes 64,256]

The last line is the headline: ``service: ratio=<x> (target <= 1.15)``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydream import create_app  # noqa: E402
from daydream.config import TestConfig  # noqa: E402
from daydream.engine.params import GenerationParams  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.services import users  # noqa: E402
from daydream.worker import Worker, load_engine, warm_up  # noqa: E402

TARGET = 1.15
STEPS = 20


def build_app(folder: Path):
    """A production-like app in a scratch folder (SQLite, local queue)."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.sqlite3'}",
        MEDIA_PATH=str(folder / "media"),
        QUEUE_MAX_PER_USER=100,
        STARTING_CREDITS=1_000_000,
        MAX_PIXELS=1024 * 1024,
    )
    app = create_app(settings, instance_path=folder)
    with app.app_context():
        db.create_all()
        users.create_user("bench@example.com", "bench password")
    return app


def through_service(client, size: int, seed: int) -> float:
    """Submit one task over HTTP, wait until it is done; seconds from the POST to done."""
    form = {
        "prompt": "a lighthouse at dawn",
        "width": size,
        "height": size,
        "steps": STEPS,
        "cfg_scale": 7,
        "samples": 1,
        "seed": seed,
        "scheduler": "Euler a",
    }
    # The end is the task's own finished_at: polling fast from this process would steal the
    # worker thread's interpreter time and measure the poller, not the service.
    posted = datetime.now(UTC).replace(tzinfo=None)
    task_id = client.post("/studio/tasks", data=form).json["task"]["id"]
    while (status := client.get(f"/studio/tasks/{task_id}").json)["state"] not in (
        "done",
        "failed",
    ):
        time.sleep(0.1)
    if status["state"] != "done":
        raise SystemExit(f"task failed: {status['error']}")
    finished = datetime.fromisoformat(status["finished_at"].rstrip("Z"))
    return (finished - posted).total_seconds()


def bare(engine, size: int, seed: int) -> float:
    """The same generation as a plain engine call, no progress, no storage."""
    params = GenerationParams(
        prompt="a lighthouse at dawn",
        width=size,
        height=size,
        steps=STEPS,
        cfg_scale=7,
        samples=1,
        seed=seed,
        scheduler="Euler a",
    )
    start = time.perf_counter()
    engine.generate(params, preview_every=None)
    return time.perf_counter() - start


def main() -> None:
    """Run the rounds and print a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--sizes", default="64,256")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        app = build_app(Path(scratch))
        engine = load_engine(app)
        warm_up(engine)
        worker = Worker(app, engine=engine).start()
        worker.wait_ready(120)
        client = app.test_client()
        client.post(
            "/auth/login", data={"email": "bench@example.com", "password": "bench password"}
        )
        ratios = []
        print(
            f"{'size':>6} {'bare s':>8} {'service s':>10} {'ratio':>7}   ({args.rounds} rounds, "
            f"{STEPS} steps, median)"
        )
        for size in (int(s) for s in args.sizes.split(",")):
            bare_times, service_times = [], []
            for round_index in range(args.rounds):
                bare_times.append(bare(engine, size, round_index))
                service_times.append(through_service(client, size, round_index))
            ratio = statistics.median(service_times) / statistics.median(bare_times)
            ratios.append(ratio)
            print(
                f"{size:>6} {statistics.median(bare_times):>8.3f} "
                f"{statistics.median(service_times):>10.3f} {ratio:>7.3f}"
            )
        worker.stop()
    headline = max(ratios)
    print(f"service: ratio={headline:.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
