"""An AUTOMATIC1111 client against a running ``daydream serve``, against the bare pipeline.

Starts the real server as a subprocess (``daydream serve`` on a free loopback port, the
embedded default: SQLite, the in-process queue and worker thread, gunicorn) in a scratch
instance with one account and an API key made through the command line. The client is
plain HTTP, as A1111 scripts are: ``POST /sdapi/v1/txt2img`` with a JSON body (256 px,
20 steps, ``Euler a``, a fixed seed per round), which answers once the image is made,
with the PNG in base64. Each round also times the bare ``Engine.generate`` call with the
same settings in this process, on the same demo model; the two alternate (which goes first
swaps every round) so both see the same machine. Also reported: the CPU time the server's
processes and the client used per call over the bare call's, which other work on a shared
machine cannot inflate (read from /proc, 10 ms resolution). Both use the same number of
torch threads (``--threads``: the server gets ``OMP_NUM_THREADS``), and only one of the two
processes works at a time.

    .venv/bin/python bench/sdapi.py [--rounds 10] [--size 256] [--steps 20] [--threads 1]

The last line is the headline: ``sdapi: ratio=<HTTP / bare> (target <= 1.05)``.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The script's folder holds queue.py, which would shadow the standard library's queue.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import requests  # noqa: E402

TARGET = 1.05
CLI = [sys.executable, "-c", "from daydream.cli import main; main()"]
EMAIL = "a1111-client@example.com"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run one ``daydream`` command; its output."""
    result = subprocess.run([*CLI, *args], cwd=ROOT, env=env, input=stdin,
                            capture_output=True, text=True, timeout=300)
    if result.returncode:
        raise SystemExit(f"daydream {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """``daydream serve`` on ``port``; returns once the site answers."""
    with open(log, "w") as output:
        server = subprocess.Popen([*CLI, "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not come up:\n" + log.read_text())
        time.sleep(0.3)


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (gunicorn's master and worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or a child
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def txt2img(session: requests.Session, url: str, size: int, steps: int, seed: int) -> float:
    """One A1111 call, answered with the image; seconds."""
    body = {"prompt": "a lighthouse at dawn", "negative_prompt": "", "width": size,
            "height": size, "steps": steps, "cfg_scale": 7, "sampler_name": "Euler a",
            "seed": seed, "batch_size": 1, "n_iter": 1}
    start = time.perf_counter()
    answer = session.post(f"{url}/sdapi/v1/txt2img", json=body, timeout=600)
    elapsed = time.perf_counter() - start
    if answer.status_code != 200:
        raise SystemExit(f"txt2img answered {answer.status_code}: {answer.text[:500]}")
    png = base64.b64decode(answer.json()["images"][0])
    assert png.startswith(b"\x89PNG"), "not a PNG"
    return elapsed


def main() -> None:
    """Start the server, alternate HTTP and bare calls, print a table and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        instance = Path(scratch) / "instance"
        env = {**os.environ, "DAYDREAM_INSTANCE_PATH": str(instance), "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads)}
        for name in ("DAYDREAM_DATABASE_URL", "DAYDREAM_REDIS_URL", "DAYDREAM_ENV"):
            env.pop(name, None)
        cli(env, "db", "upgrade")
        cli(env, "users", "create", EMAIL, "--password-stdin", "--credits", "1000000",
            stdin="a fine long password 42\n")
        key = cli(env, "keys", "create", EMAIL, "--name", "bench").strip()
        port = free_port()
        server = start_server(env, port, Path(scratch) / "server.log")
        try:
            import torch

            from daydream.engine.params import GenerationParams
            from daydream.engine.pipeline import Engine

            torch.set_num_threads(args.threads)
            # The demo model the server built in its instance (the same bytes either way).
            engine = Engine.load(None, cache_dir=instance / "models")
            url = f"http://127.0.0.1:{port}"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {key}"

            def bare(seed: int) -> float:
                params = GenerationParams(prompt="a lighthouse at dawn", width=args.size,
                                          height=args.size, steps=args.steps, cfg_scale=7,
                                          seed=seed, scheduler="Euler a")
                start = time.perf_counter()
                engine.generate(params, preview_every=None)
                return time.perf_counter() - start

            for seed in range(2):  # first calls are slower on both sides
                bare(seed), txt2img(session, url, args.size, args.steps, seed)
            bare_times, http_times, cpu_ratios = [], [], []

            def http(seed: int) -> None:
                cpu = tree_cpu(server.pid) + time.process_time()
                http_times.append(txt2img(session, url, args.size, args.steps, seed))
                time.sleep(0.05)  # the server's last writes after the answer
                http_cpu.append(tree_cpu(server.pid) + time.process_time() - cpu)

            def lone(seed: int) -> None:
                cpu = time.process_time()
                bare_times.append(bare(seed))
                bare_cpu.append(time.process_time() - cpu)

            http_cpu: list[float] = []
            bare_cpu: list[float] = []
            for index in range(args.rounds):
                for step in ((http, lone) if index % 2 else (lone, http)):
                    step(index)
                cpu_ratios.append(http_cpu[-1] / bare_cpu[-1])
                print(f"round {index + 1:>3}: bare {bare_times[-1]:.3f} s, "
                      f"/sdapi/v1/txt2img {http_times[-1]:.3f} s")
        finally:
            server.terminate()
            server.wait(60)
    ratio = statistics.median(http_times) / statistics.median(bare_times)
    print(f"median: bare {statistics.median(bare_times):.3f} s, HTTP "
          f"{statistics.median(http_times):.3f} s ({args.size} px, {args.steps} steps, "
          f"{args.rounds} rounds, {args.threads} torch thread(s))")
    print(f"CPU (server processes + client) over the bare call's CPU, median of rounds: "
          f"{statistics.median(cpu_ratios):.3f} (what other load cannot inflate)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)"
          f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"sdapi: ratio={ratio:.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
