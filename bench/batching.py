"""Batching across people: images per second through the service, batching on against off.

One process, the demo model, SQLite in a scratch folder. Each round, 8 people submit 4
tasks each through the studio's endpoint (different prompts and seeds, the same size,
steps, sampler and guidance), then the worker's ``TaskRunner`` works through the queue as
the embedded worker does (fair pops, batching companions claimed with ``remove``, state
transitions, per-member progress events with previews, PNGs, thumbnails, image rows, final
events on the side thread) until every task is done. Rounds alternate batching off
(``MAX_BATCH`` 1) and on (``MAX_BATCH`` 8) in the same process, on the same thread, so both
see the same machine. Timed: from the first pop to the last task finished.

    .venv/bin/python bench/batching.py [--rounds 4] [--size 64] [--steps 20]

The last line is the headline: ``batching: ratio=<on/off images per second> (target >= 1.3)``.
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

HERE = Path(__file__).resolve().parent
# The script's folder holds queue.py, which would shadow the standard library's queue.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlalchemy import func, select  # noqa: E402

from bench.common import PASSWORD, build_app  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.models import Task  # noqa: E402
from daydream.runner import TaskRunner, load_engine, warm_up  # noqa: E402
from daydream.runtime import get_runtime  # noqa: E402

TARGET = 1.3


def submit_round(clients, round_index: int, per_person: int, size: int, steps: int) -> int:
    """Every person submits ``per_person`` tasks; how many were submitted."""
    count = 0
    for turn in range(per_person):
        for person, client in enumerate(clients):
            seed = round_index * 1000 + turn * len(clients) + person
            answer = client.post("/studio/tasks", data={
                "prompt": f"person {person}'s picture number {turn}", "width": size,
                "height": size, "steps": steps, "cfg_scale": 7, "samples": 1, "seed": seed,
                "scheduler": "Euler a"})
            assert answer.status_code == 202, answer.get_data(as_text=True)
            count += 1
    return count


def work_through(app, runner: TaskRunner) -> float:
    """Run the queue empty as a worker does; seconds until the last task was saved."""
    queue = get_runtime(app).queue
    start = time.perf_counter()
    while (task_id := queue.pop(timeout=0)) is not None:
        runner.run(task_id, wait=False)
    runner.close()
    elapsed = time.perf_counter() - start
    with app.app_context():
        unfinished = db.session.scalar(select(func.count(Task.id)).where(
            Task.state != "done"))
    if unfinished:
        raise SystemExit(f"{unfinished} tasks did not finish")
    return elapsed


def main() -> None:
    """Alternate rounds with batching off and on; print a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each kind")
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--per-person", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8, help="MAX_BATCH when on")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as scratch:
        app, emails = build_app(Path(scratch), people=args.people)
        engine = load_engine(app)
        warm_up(engine)
        runner = TaskRunner(app, engine, "bench")  # this thread is the engine's thread
        clients = []
        for email in emails:
            client = app.test_client()
            client.post("/auth/login", data={"email": email, "password": PASSWORD})
            clients.append(client)
        print(f"{'round':>5} {'batching':>8} {'tasks':>6} {'seconds':>8} {'images/s':>9}   "
              f"({args.size} px, {args.steps} steps, MAX_BATCH {args.batch} when on)")
        for index in range(2 * args.rounds):
            kind = ("off", "on")[index % 2] if index // 2 % 2 == 0 else ("on", "off")[index % 2]
            app.config["MAX_BATCH"] = args.batch if kind == "on" else 1
            count = submit_round(clients, index, args.per_person, args.size, args.steps)
            seconds = work_through(app, runner)
            rates[kind].append(count / seconds)
            print(f"{index + 1:>5} {kind:>8} {count:>6} {seconds:>8.2f} {count / seconds:>9.2f}")
    ratio = statistics.median(rates["on"]) / statistics.median(rates["off"])
    print(f"median images/s: off {statistics.median(rates['off']):.2f}, "
          f"on {statistics.median(rates['on']):.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)"
          f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"batching: ratio={ratio:.3f} (target >= {TARGET})")


if __name__ == "__main__":
    main()
