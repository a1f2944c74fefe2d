"""Service overhead: end-to-end time of a task through Daydream against the bare engine call.

Runs the real stack in one process on the demo model: the studio's submit endpoint (Flask
test client, SQLite), validation, pricing, the credit charge, the fair queue, the worker's
task run with per-step progress events, previews and progress rows, PNGs with metadata,
thumbnails, image rows, the state transitions and the finish event a waiting client wakes
on. Each round times the bare ``engine.generate`` call and one task through the service with
the same settings, back to back, so both see the same machine.

One thread, the engine thread, makes every torch call (the bare ones and the worker's), as
the embedded worker thread does in ``daydream serve``: two threads taking turns at torch
leave each other's OpenMP teams spinning (measured: 2.4× on the bare call). For a service
round it waits in the queue's ``pop`` as the idle worker does; the benchmark's main thread
submits through HTTP and waits for the task's finish event, as an A1111 client's request
does, from just before the submit to the wake-up. The ratio is the median of each round's
own service/bare ratio of wall times; the "CPU ratio" column compares the CPU time of the
whole process (every thread), which other work on a shared machine cannot inflate.

    .venv/bin/python bench/service.py [--rounds 10] [--sizes 64,256] [--threads 1]

The last line is the headline: ``service: ratio=<x> (target <= 1.05)``.
"""

from __future__ import annotations

import argparse
import os
import statistics
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

import queue  # noqa: E402  (the standard library's, now that it is not shadowed)

from bench.common import PASSWORD, build_app  # noqa: E402
from daydream.engine.params import GenerationParams  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.models import Task  # noqa: E402
from daydream.runner import TaskRunner, load_engine, warm_up  # noqa: E402
from daydream.runtime import get_runtime  # noqa: E402

TARGET = 1.05
STEPS = 20
PROMPT = "a lighthouse at dawn"


class EngineThread:
    """The one thread that calls torch: bare calls, and the worker's pop-and-run."""

    def __init__(self, app, threads: int) -> None:
        self.app = app
        self.threads = threads
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._main, name="engine", daemon=True).start()
        self.answers.get()  # loaded and warmed up

    def _main(self) -> None:
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        self.engine = load_engine(self.app)
        warm_up(self.engine)
        self.runner = TaskRunner(self.app, self.engine, "bench")
        self.answers.put("ready")
        while True:
            kind, value = self.commands.get()
            if kind == "bare":
                start, cpu = time.perf_counter(), time.process_time()
                self.engine.generate(value, preview_every=None)
                self.answers.put((time.perf_counter() - start, time.process_time() - cpu))
            else:  # serve one task, as the idle embedded worker does
                task_id = get_runtime(self.app).queue.pop(timeout=60, **self.runner.affinity())
                self.runner.run(task_id, wait=False)
                self.runner.side.drain()  # before the next bare call, not before the client
                self.answers.put(task_id)

    def bare(self, params: GenerationParams) -> tuple[float, float]:
        """Seconds (wall, and CPU of the whole process) of one plain engine call: no
        progress, no storage, no database."""
        self.commands.put(("bare", params))
        return self.answers.get()


def through_service(app, client, engine: EngineThread, size: int,
                    seed: int) -> tuple[float, float]:
    """POST one task and wait for its finish event, as a waiting client does; seconds
    (wall, and CPU of the whole process: every thread's share of the work)."""
    form = {"prompt": PROMPT, "width": size, "height": size, "steps": STEPS, "cfg_scale": 7,
            "samples": 1, "seed": seed, "scheduler": "Euler a"}
    engine.commands.put(("serve", None))  # the worker waits in pop()
    start, cpu = time.perf_counter(), time.process_time()
    answer = client.post("/studio/tasks", data=form).json["task"]
    uuid = answer["id"]
    with app.app_context():
        def finished() -> bool:  # the waiter's safety net, if a finish signal were lost
            done = db.session.query(Task).filter_by(uuid=uuid).one().is_finished
            db.session.rollback()
            return done

        # As an A1111 call does: the answer said the task is unfinished, so the wait
        # begins with the finish signal, not a look at the database.
        get_runtime(app).state.wait_finished(
            uuid, 120, finished, seen_unfinished=answer["state"] in ("queued", "running"))
        elapsed = time.perf_counter() - start
        engine.answers.get()  # the worker's run has returned (its side work is done)
        cpu = time.process_time() - cpu
        task = db.session.query(Task).filter_by(uuid=uuid).one()
        if task.state != "done" or len(task.images) != 1:
            raise SystemExit(f"task did not finish: {task.state} {task.error}")
        db.session.remove()
    return elapsed, cpu


def main() -> None:
    """Run the rounds and print a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--sizes", default="64,256")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as scratch:
        app, (email,) = build_app(Path(scratch))
        engine = EngineThread(app, args.threads)
        client = app.test_client()
        client.post("/auth/login", data={"email": email, "password": PASSWORD})
        print(f"{'size':>6} {'bare s':>8} {'service s':>10} {'ratio':>7} {'best/best':>9} "
              f"{'CPU ratio':>9}   ({args.rounds} rounds, {STEPS} steps, previews every step; "
              "medians)")
        for size in (int(s) for s in args.sizes.split(",")):
            bare_times, service_times = [], []
            for round_index in range(args.rounds):
                params = GenerationParams(prompt=PROMPT, width=size, height=size, steps=STEPS,
                                          cfg_scale=7, samples=1, seed=round_index,
                                          scheduler="Euler a")
                # Alternate which goes first, so neither always follows the other.
                if round_index % 2:
                    service_times.append(through_service(app, client, engine, size,
                                                         round_index))
                    bare_times.append(engine.bare(params))
                else:
                    bare_times.append(engine.bare(params))
                    service_times.append(through_service(app, client, engine, size,
                                                         round_index))
            # The median of each round's own ratio: a round's two runs see the same machine,
            # so slow drifts of a shared machine's load cancel out.
            walls = [(s[0], b[0]) for s, b in zip(service_times, bare_times, strict=True)]
            ratio = statistics.median(s / b for s, b in walls)
            cpu = statistics.median(s[1] / b[1] for s, b in zip(service_times, bare_times,
                                                                strict=True))
            ratios.append(ratio)
            print(f"{size:>6} {statistics.median(b for _, b in walls):>8.3f} "
                  f"{statistics.median(s for s, _ in walls):>10.3f} {ratio:>7.3f} "
                  f"{min(s for s, _ in walls) / min(b for _, b in walls):>9.3f} {cpu:>9.3f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)"
          f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"service: ratio={max(ratios):.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
