"""The Procfile, run by honcho against loopback Redis and PostgreSQL, runs tasks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, api_key, environment, free_port, run_cli, run_task, stop
from tests.processes import wait_for_site as wait_for_web
from tests.services import unavailable


@pytest.fixture
def honcho() -> str:
    """The honcho command of this environment."""
    found = shutil.which("honcho") or str(Path(sys.executable).with_name("honcho"))
    if not Path(found).exists():
        unavailable("honcho is not installed (pip install honcho)")
    return found


def test_honcho_starts_the_procfile_and_its_workers_finish_a_task(
        honcho, redis_server, database_url, tmp_path):
    instance = tmp_path / "instance"
    settings = {"DAYDREAM_DATABASE_URL": database_url, "DAYDREAM_REDIS_URL": redis_server.url,
                "DAYDREAM_WORKER_HEARTBEAT": "1"}
    run_cli(instance, "db", "upgrade", **settings)
    key = api_key(instance, **settings)
    port = free_port()
    # honcho runs each Procfile line in a shell; `daydream` must be this venv's command.
    env = environment(instance, **settings,
                      PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    process = subprocess.Popen(
        [honcho, "start", "-f", str(ROOT / "Procfile"), "-p", str(port), "-c", "worker=2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        wait_for_web(process, port)
        task = run_task(port, key, timeout=180)
        assert task["state"] == "done", task
        assert task["images"], task
    finally:
        _code, output, _seconds = stop(process, signal.SIGTERM, timeout=90)
    assert "worker.1" in output and "worker.2" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
