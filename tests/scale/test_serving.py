"""The scaled deployment's web side as real processes: `daydream serve` and the WSGI app on
Redis and PostgreSQL, with `daydream worker` processes running the tasks."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.processes import (
    TINY_TASK,
    api_key,
    call,
    environment,
    free_port,
    run_cli,
    run_task,
    start,
    stop,
    wait_for_site,
)
from tests.scale.conftest import FAST_HEARTBEAT, ROOT


def scaled_env(redis_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The settings every process of a scaled deployment shares."""
    return {"DAYDREAM_ENV": "production", "DAYDREAM_SECRET_KEY": "s" * 40,
            "DAYDREAM_REDIS_URL": redis_url, "DAYDREAM_DATABASE_URL": database_url,
            **{f"DAYDREAM_{name}": str(value) for name, value in FAST_HEARTBEAT.items()},
            **extra}


def torch_loaded(pid: int) -> bool:
    """Whether a live process has torch's shared library mapped (it imported torch)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [pid] + [grand for child in children.stdout.split()
                    for grand in process_tree(int(child))]


PROBE = """
import json, sys
from daydream import create_app
from daydream.config import Config
from daydream.extensions import db
from daydream.services import apikeys, users
app = create_app(Config.from_env(), instance_path=sys.argv[1])
with app.app_context():
    db.create_all()
    user = users.create_user("probe@example.com", "a fine password")
    key = apikeys.create_key(user, "probe")[1]
client = app.test_client()
auth = {"Authorization": f"Bearer {key}"}
for path in ("/", "/gallery", "/auth/login", "/api/v1/info", "/sdapi/v1/progress",
             "/sdapi/v1/sd-models"):
    assert client.get(path, headers=auth).status_code == 200, path
task = client.post("/api/v1/tasks", headers=auth, json={"prompt": "p", "width": 64,
                   "height": 64, "steps": 2})
assert task.status_code == 202, task.json
assert client.get(f"/api/v1/tasks/{task.json['id']}", headers=auth).status_code == 200
assert client.post(f"/api/v1/tasks/{task.json['id']}/cancel", headers=auth).status_code == 200
heavy = sorted(m for m in ("torch", "diffusers", "transformers") if m in sys.modules)
print(json.dumps(heavy))
"""


def test_scaled_web_app_never_imports_torch(redis_server, database_url, tmp_path):
    env = environment(tmp_path / "instance", **scaled_env(redis_server.url, database_url))
    result = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "instance")],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_scaled_serve_runs_tasks_in_workers_and_never_loads_torch(
        redis_server, database_url, workers, tmp_path):
    instance = tmp_path / "instance"
    env = scaled_env(redis_server.url, database_url)
    run_cli(instance, "db", "upgrade", **env)
    key = api_key(instance, **env)
    workers.start(1)
    port = free_port()
    server = start([sys.executable, "-c", "from daydream.cli import main; main()", "serve",
                    "--port", str(port)], instance, **env)
    try:
        wait_for_site(server, port)
        task = run_task(port, key)
        assert task["state"] == "done", task
        web = process_tree(server.pid)
        assert len(web) == 2, "gunicorn's master and its one worker"
        assert not any(torch_loaded(pid) for pid in web)
        code, output, _ = stop(server, signal.SIGTERM)
    finally:
        server.kill()
    assert code == 0, output
    assert "Run exactly one process" not in output and "Loading" not in output


def test_wsgi_entry_point_with_redis_runs_several_web_processes(
        redis_server, database_url, workers, tmp_path):
    instance = tmp_path / "instance"
    env = scaled_env(redis_server.url, database_url)
    run_cli(instance, "db", "upgrade", **env)
    key = api_key(instance, **env)
    workers.start(1)
    port = free_port()
    server = start([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8",
                    "-b", f"127.0.0.1:{port}", "daydream.wsgi:app"], instance, **env)
    try:
        wait_for_site(server, port)
        assert [run_task(port, key)["state"] for _ in range(2)] == ["done", "done"]
        web = process_tree(server.pid)
        assert len(web) == 3 and not any(torch_loaded(pid) for pid in web)
        # Retries racing through both web processes are still one task, charged once.
        retries = retry_concurrently(port, key, "across-processes", 8)
        assert [status for status, _ in retries] == [202] * 8, retries
        assert len({task["id"] for _, task in retries}) == 1
        code, output, _ = stop(server, signal.SIGTERM)
    finally:
        server.kill()
    assert code == 0, output
    assert "Run exactly one process" not in output


def retry_concurrently(port: int, key: str, idempotency_key: str,
                       count: int) -> list[tuple[int, dict]]:
    """The same keyed submit ``count`` times at once; every (status, body)."""
    answers: list[tuple[int, dict]] = []
    headers = {"Idempotency-Key": idempotency_key}

    def submit() -> None:
        answers.append(call(port, "POST", "/api/v1/tasks", key, TINY_TASK, headers))

    threads = [threading.Thread(target=submit) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers
