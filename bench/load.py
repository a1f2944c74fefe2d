"""Load held: 50 simulated people against `daydream serve` with 100,000 tasks in the database.

Run (from the repository root; takes about 2 × (seed + 90 s) with the defaults)::

    .venv/bin/python bench/load.py                      # SQLite, then PostgreSQL
    .venv/bin/python bench/load.py --db sqlite --duration 30 --tasks 20000   # a quick look

Needs `pip install -e .[bench]` (websocket-client, for the Socket.IO connections) and, for
PostgreSQL, a server on 127.0.0.1:5432 with a database ``test`` (``--postgres-url``); the
benchmark works in its own schema (``--schema``, dropped and made afresh each run).

For each database: a fresh instance folder, ``daydream db upgrade``, a bulk seed
(``bench/loadtest/seed.py``: 1,000 accounts, 100,000 tasks, their image and ledger rows), then
the site as subprocesses on a free loopback port. ``--deployment scaled`` (the default, the
README's production shape): ``daydream serve`` (gunicorn) with ``DAYDREAM_REDIS_URL`` set,
so the web process never loads torch, and one ``daydream worker`` process with the demo
model, on Redis database ``--redis-db`` of 127.0.0.1:6379 (emptied first).
``--deployment embedded``: ``daydream serve`` alone, its worker thread in the web process.
The people (``bench/loadtest/people.py``, one thread each, real HTTP with
``requests`` and real Socket.IO over WebSocket) log in through the form, open a socket, and
for ``--duration`` seconds after a ``--warmup`` browse pages, fetch the timeline and library
JSON, poll task status and A1111 progress, submit through the native API, the studio and
A1111's ``txt2img`` (which waits for its image), and reconnect their socket now and then.

Reported per endpoint group: count, p50/p95/p99 in ms, errors, refusals. A refused submit
(429 too many unfinished tasks or rate limited, 503 queue full: the service's designed answer,
nothing charged) is counted apart, not as an error. The last line is the worst p99 over
the read groups (pages, JSON, polls) of every database run: the target is ≤ 100 ms with
0 errors. Submits are reported but not in the headline (A1111's txt2img waits for the
image by design).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ goes last: its queue.py must not shadow the standard library's queue module.
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "bench"))

from loadtest.people import READ_GROUPS, Person, Stats  # noqa: E402
from loadtest.seed import PASSWORD, seed  # noqa: E402

CLI = [sys.executable, "-c", "from daydream.cli import main; main()"]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(kind: str, instance: Path, args: argparse.Namespace) -> str:
    """A SQLite file in the instance, or a fresh schema of its own in PostgreSQL."""
    if kind == "sqlite":
        return f"sqlite:///{instance / 'daydream.sqlite3'}"
    import psycopg

    with psycopg.connect(args.postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{args.schema}"')
    url = args.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{url}?options=-csearch_path%3D{args.schema}"


def environment(instance: Path, url: str, code: Path, redis_url: str | None) -> dict[str, str]:
    """The site's environment: this instance and database, offline, Redis when scaled."""
    env = {**os.environ, "DAYDREAM_INSTANCE_PATH": str(instance), "DAYDREAM_DATABASE_URL": url,
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(code)}
    env.pop("DAYDREAM_REDIS_URL", None)
    if redis_url:
        env["DAYDREAM_REDIS_URL"] = redis_url
    return env


def fresh_redis(args: argparse.Namespace) -> str | None:
    """The Redis URL of a scaled run, its database emptied; None when embedded."""
    if args.deployment != "scaled":
        return None
    import redis

    url = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis.Redis.from_url(url).flushdb()
    return url


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after a minute."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for_site(process: subprocess.Popen, port: int, log: Path, timeout: float = 180) -> None:
    """Poll the landing page until it answers; fail if the server dies first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                if page.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not come up:\n" + log.read_text()[-3000:])
        time.sleep(0.5)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def report(kind: str, stats: Stats, duration: float) -> tuple[float, int]:
    """Print the table of one run; return (worst read p99, read errors + other errors)."""
    print(f"\n{kind}: {'group':<22}{'calls':>7}{'/s':>6}{'p50':>8}{'p95':>8}{'p99':>8}"
          f"{'max':>8}{'errors':>8}{'refused':>9}{'retried':>9}")
    worst, errors = 0.0, 0
    for group in sorted(stats.samples):
        values = stats.samples[group]
        p99 = percentile(values, 0.99)
        if group.split()[0] in READ_GROUPS:
            worst = max(worst, p99)
        errors += stats.errors[group]
        print(f"{'':<{len(kind) + 2}}{group:<22}{len(values):>7}{len(values) / duration:>6.1f}"
              f"{percentile(values, 0.5):>8.1f}{percentile(values, 0.95):>8.1f}{p99:>8.1f}"
              f"{max(values):>8.1f}{stats.errors[group]:>8}{stats.refusals[group]:>9}"
              f"{stats.retries[group]:>9}")
    for example in stats.examples[:10]:
        print(f"  error: {example}")
    print(f"{kind}: worst read p99 {worst:.1f} ms, {errors} errors")
    return worst, errors


def run_one(kind: str, args: argparse.Namespace) -> tuple[float, int]:
    """Seed, serve, load, report: one database."""
    instance = Path(tempfile.mkdtemp(prefix=f"daydream-load-{kind}-"))
    url = database_url(kind, instance, args)
    code = Path(args.code).resolve()
    env = environment(instance, url, code, fresh_redis(args))
    subprocess.run([*CLI, "db", "upgrade"], cwd=code, env=env, check=True,
                   capture_output=True)
    seeded = seed(url, people=args.people, tasks=args.tasks)
    print(f"{kind}: seeded {seeded.tasks} tasks, {seeded.images} images, "
          f"{args.people} people + {1000 - args.people} other accounts in {seeded.seconds:.1f} s")
    port = free_port()
    logs = [instance / "serve.log", instance / "worker.log"]
    commands = [[*CLI, "serve", "--port", str(port)]]
    if args.deployment == "scaled":
        commands.append([*CLI, "worker"])
    processes = []
    try:
        for command, log in zip(commands, logs, strict=False):
            with log.open("w") as out:
                processes.append(subprocess.Popen(command, cwd=code, env=env, stdout=out,
                                                  stderr=subprocess.STDOUT))
        wait_for_site(processes[0], port, logs[0])
        print(f"{kind}: {args.deployment} deployment up: {len(processes)} process(es)")
        stats = load(f"http://127.0.0.1:{port}", seeded.people, args)
        done = report(kind, stats, args.duration)
    finally:
        for process in processes:
            stop(process)
    broken = [log for log in logs if log.exists() and "Traceback" in log.read_text()]
    if broken:
        print(f"{kind}: a log has a traceback: {', '.join(map(str, broken))}")
    elif not args.keep:
        shutil.rmtree(instance, ignore_errors=True)
    return done


def load(base: str, seeded_people: list, args: argparse.Namespace) -> Stats:
    """Log everyone in, open their sockets, and let them act for the duration."""
    rng = random.Random(14)
    stats = Stats(start_at=float("inf"))
    people = [Person(base, p.email, PASSWORD, p.key, p.task_uuids, stats,
                     random.Random(rng.random())) for p in seeded_people]
    began = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(Person.log_in, people))
        list(pool.map(Person.connect, people))
    print(f"  {len(people)} people logged in with sockets open in "
          f"{time.monotonic() - began:.1f} s")
    stats.start_at = time.monotonic() + args.warmup
    deadline = stats.start_at + args.duration
    threads = [threading.Thread(target=p.run, args=(deadline,), daemon=True) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = sum(p.events for p in people)
    for person in people:
        person.disconnect()
    print(f"  {events} Socket.IO events received; load average "
          f"{os.getloadavg()[0]:.2f} at the end")
    return stats


def main() -> None:
    """Run the load test on the chosen databases and print the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=90.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds first")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="daydream_load")
    parser.add_argument("--deployment", choices=("scaled", "embedded"), default="scaled",
                        help="scaled: web process + a worker process on Redis; embedded: "
                        "one process with the worker thread")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="keep the instance folders")
    parser.add_argument("--code", default=str(ROOT), help="serve the daydream package of this "
                        "checkout (e.g. an older commit, for a before/after comparison)")
    args = parser.parse_args()
    print(f"load test {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, "
          f"{args.deployment} deployment, load average {os.getloadavg()[0]:.2f} at the start")
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [run_one(kind, args) for kind in kinds]
    worst = max(p99 for p99, _ in results)
    errors = sum(count for _, count in results)
    print(f"errors: {errors} (target 0)")
    print(f"load: {worst:.0f} ms worst p99 (target <= 100)")


if __name__ == "__main__":
    main()
