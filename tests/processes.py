"""Run Daydream as real processes, the way an operator does, and drive it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from daydream.cli import main; main()"]
TINY_TASK = {"prompt": "a lighthouse at dawn", "width": 64, "height": 64, "steps": 2,
             "scheduler": "Euler"}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(instance: Path, **env: str) -> dict[str, str]:
    """The test's environment for a Daydream process on ``instance``, with overrides."""
    values = {**os.environ, "DAYDREAM_INSTANCE_PATH": str(instance), "HF_HUB_OFFLINE": "1",
              "PYTHONPATH": str(ROOT), **env}
    for name in ("DAYDREAM_DATABASE_URL", "DAYDREAM_REDIS_URL", "DAYDREAM_ENV"):
        if name not in env:
            values.pop(name, None)
    return values


def start(command: list[str], instance: Path, **env: str) -> subprocess.Popen:
    """Start a process with its output (stdout and stderr together) captured."""
    return subprocess.Popen(command, cwd=ROOT, env=environment(instance, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_cli(instance: Path, *args: str, stdin: str = "", **env: str) -> str:
    """Run one ``daydream`` command to its end; return its output, fail on an error."""
    result = subprocess.run([*CLI, *args], cwd=ROOT, env=environment(instance, **env),
                            input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def api_key(instance: Path, email: str = "script@example.com", **env: str) -> str:
    """Create an account and an API key for it through the command line."""
    run_cli(instance, "users", "create", email, "--password-stdin", stdin="a fine password\n",
            **env)
    return run_cli(instance, "keys", "create", email, "--name", "test", **env).strip()


def wait_for_site(process: subprocess.Popen, port: int, timeout: float = 120) -> None:
    """Poll the landing page until it answers; fail if the process dies or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                assert page.status == 200 and b"Daydream" in page.read()
                return
        except OSError:
            if process.poll() is not None:
                raise AssertionError("the server exited:\n" + process.communicate()[0]) from None
            assert time.monotonic() < deadline, "the site did not come up"
            time.sleep(0.3)


def call(port: int, method: str, path: str, key: str, body: dict | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One API call; returns (status, JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def run_task(port: int, key: str, timeout: float = 120) -> dict:
    """Submit a tiny task through the API and wait for it to finish; return its final view."""
    status, task = call(port, "POST", "/api/v1/tasks", key, TINY_TASK)
    assert status == 202, task
    deadline = time.monotonic() + timeout
    while task["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"the task is still {task['state']}"
        time.sleep(0.3)
        task = call(port, "GET", f"/api/v1/tasks/{task['id']}", key)[1]
    return task


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM,
         timeout: float = 60) -> tuple[int, str, float]:
    """Signal a process and wait for it: (exit code, its whole output, seconds it took)."""
    began = time.monotonic()
    process.send_signal(signum)
    try:
        output = process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
        raise AssertionError(f"still running {timeout} s after the signal:\n{output}") from None
    return process.returncode, output, time.monotonic() - began
