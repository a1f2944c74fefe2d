"""Models: a mixed-model queue with and without model affinity — model loads and total time.

Run with ``.venv/bin/python bench/models.py``. A fresh instance (SQLite, local queue) has a
models folder with the SD 1.x and the SDXL demo models and three people. They submit
``--tasks`` tasks (20) through the real submit service, each naming a model (a seeded
random mix: one person mostly SD 1.x, one mostly SDXL, one either), all waiting before the
worker starts. One worker that holds ``--hold`` models (1: one checkpoint fits the GPU at a
time) then runs the whole queue through ``TaskRunner`` — real loads, real generations, PNGs,
database — once taking tasks in the plain fair order, once with affinity (the queue's
``pop`` told which models the worker holds). The worker starts holding the default model
in both runs; its start-up load is not counted.

Runs alternate (without, with, with, without, ...; ``--rounds`` of each) so that drift in the
machine's load hits both alike; torch runs on one thread. The headline is the median total
time without affinity over the median with it; model loads and the order's fairness (the
most turns anyone got ahead of someone still waiting) are printed for both. On the demo
models a switch (load, warm-up, freeing the old one) costs well under a second; a real
checkpoint loads in seconds to tens of seconds, so there the ratio is larger still.

    .venv/bin/python bench/models.py [--tasks 20] [--steps 10] [--size 64] [--hold 1]
                                     [--rounds 2]

The last line is the headline: ``models: ratio=<x> (target > 1)``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# The checkout instead of bench/ itself, whose queue.py would shadow the standard library's.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from daydream import create_app  # noqa: E402
from daydream.config import TestConfig  # noqa: E402
from daydream.engine.demo import build_demo_model  # noqa: E402
from daydream.engine.demo_xl import build_sdxl_demo_model  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.held_models import load_at_start  # noqa: E402
from daydream.models import Task, User  # noqa: E402
from daydream.runner import TaskRunner  # noqa: E402
from daydream.runtime import get_runtime  # noqa: E402
from daydream.services import tasks, users  # noqa: E402

SD1, XL = "daydream-demo", "daydream-demo-xl"
PEOPLE = {"ana": (SD1, 0.8), "ben": (XL, 0.8), "cho": (SD1, 0.5)}  # favourite, how often


def build_models(folder: Path) -> Path:
    """The models folder: both demo models, built offline (cached across runs)."""
    build_demo_model(folder / SD1)
    build_sdxl_demo_model(folder / XL)
    return folder


def plan(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Who submits what, in submission order: people take turns, each picks a model."""
    rng = random.Random(seed)
    names = list(PEOPLE)
    result = []
    for index in range(count):
        person = names[index % len(names)]
        favourite, share = PEOPLE[person]
        other = XL if favourite == SD1 else SD1
        result.append((person, favourite if rng.random() < share else other))
    return result


def run(scratch: Path, models: Path, work: list[tuple[str, str]], args, affinity: bool):
    """One full run on a fresh instance; (seconds, loads, started order of (person, model))."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{scratch / 'bench.sqlite3'}",
                    MEDIA_PATH=str(scratch / "media"), MODELS_DIR=str(models),
                    QUEUE_MAX=1000, QUEUE_MAX_PER_USER=1000, STARTING_CREDITS=10_000_000,
                    WORKER_MODELS=args.hold, PREVIEW_EVERY=0)
    app = create_app(settings, instance_path=scratch)
    form = {"prompt": "a lighthouse at dawn", "width": args.size, "height": args.size,
            "steps": args.steps, "cfg_scale": 7, "samples": 1, "scheduler": "Euler", "seed": 1}
    with app.app_context():
        db.create_all()
        people = {name: users.create_user(f"{name}@example.com", "bench password").id
                  for name in PEOPLE}
        for person, model in work:
            tasks.submit(db.session.get(User, people[person]), form, model=model)
        model, engine = load_at_start(app)
    runner = TaskRunner(app, engine, "bench", model)  # this thread runs the tasks
    queue = get_runtime(app).queue
    start = time.perf_counter()
    while len(queue):
        runner.run(queue.pop(0, **(runner.affinity() if affinity else {})))
    seconds = time.perf_counter() - start
    with app.app_context():
        rows = db.session.scalars(db.select(Task).order_by(Task.started_at)).all()
        if {row.state for row in rows} != {"done"}:
            raise SystemExit(f"not every task finished: {[(r.state, r.error) for r in rows]}")
        names = {user_id: name for name, user_id in people.items()}
        order = [(names[row.user_id], row.model) for row in rows]
        db.session.remove()
        db.engine.dispose()
    return seconds, runner.models.loads, order


def lead(order: list[tuple[str, str]]) -> int:
    """The most turns anyone got ahead of a person who still had tasks waiting."""
    remaining = {person: sum(1 for p, _ in order if p == person) for person in PEOPLE}
    served = dict.fromkeys(PEOPLE, 0)
    worst = 0
    for person, _ in order:
        served[person] += 1
        remaining[person] -= 1
        waiting = [p for p in PEOPLE if remaining[p] > 0]
        if waiting:
            worst = max(worst, max(served.values()) - min(served[p] for p in waiting))
    return worst


def main() -> None:
    """Both runs, a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--hold", type=int, default=1, help="models the worker holds")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each kind")
    args = parser.parse_args()
    from daydream.engine.device import limit_torch_threads

    limit_torch_threads(1)
    work = plan(args.tasks)
    counts = {m: sum(1 for _, model in work if model == m) for m in (SD1, XL)}
    print(f"{args.tasks} tasks from {len(PEOPLE)} people ({counts[SD1]} SD 1.x, {counts[XL]} "
          f"SDXL), {args.size} px, {args.steps} steps; one worker holding {args.hold} model(s)")
    with tempfile.TemporaryDirectory() as scratch:
        models = build_models(Path(scratch) / "models")
        runs: dict[bool, list] = {False: [], True: []}
        kinds = [False, True, True, False] * args.rounds
        for index, affinity in enumerate(kinds[:2 * args.rounds]):
            folder = Path(scratch) / f"run-{index}"
            folder.mkdir()
            runs[affinity].append(run(folder, models, work, args, affinity))
    results = {affinity: (statistics.median(r[0] for r in found), found[0][1], found[0][2],
                          [round(r[0], 1) for r in found])
               for affinity, found in runs.items()}
    print(f"{'':>18} {'median s':>8} {'loads':>6} {'max lead':>9}   runs (s)")
    for affinity, label in ((False, "without affinity"), (True, "with affinity")):
        seconds, loads, order, each = results[affinity]
        print(f"{label:>18} {seconds:>8.2f} {loads:>6} {lead(order):>9}   {each}")
        print(f"{'':>18} order: " + " ".join(f"{p[0]}{'x' if m == XL else '1'}"
                                             for p, m in order))
    ratio = results[False][0] / results[True][0]
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)")
    print(f"models: loads without affinity={results[False][1]} with={results[True][1]}")
    print(f"models: ratio={ratio:.2f} (target > 1)")


if __name__ == "__main__":
    main()
