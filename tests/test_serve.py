"""`daydream serve`, the quick start's command, as a real process."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def daydream(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "DAYDREAM_INSTANCE_PATH": str(tmp_path / "instance"),
                   "HF_HUB_OFFLINE": "1", **env}
    environment.pop("DAYDREAM_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-c", "from daydream.cli import main; main()", *args],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def upgrade(tmp_path: Path) -> None:
    with daydream(tmp_path, "db", "upgrade") as process:
        output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output


def test_serve_starts_the_site_with_the_demo_model(tmp_path):
    upgrade(tmp_path)
    port = free_port()
    with daydream(tmp_path, "serve", "--port", str(port)) as server:
        try:
            wait_for_site(server, port)
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0]
    assert "Model ready: daydream-demo" in output
    assert (tmp_path / "instance" / "models").is_dir(), "the demo model was built"


def wait_for_site(server: subprocess.Popen, port: int) -> None:
    """Poll the landing page until it answers; fail if the server dies or takes too long."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                assert page.status == 200 and b"Daydream" in page.read()
                return
        except OSError:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the site did not come up"
            time.sleep(0.5)


def test_serve_refuses_a_bad_model_at_start(tmp_path):
    upgrade(tmp_path)
    with daydream(tmp_path, "serve", "--port", str(free_port()),
                  DAYDREAM_MODEL=str(tmp_path / "no-such-model.safetensors")) as server:
        output = server.communicate(timeout=120)[0]
    assert server.returncode != 0
    assert "Could not load the model" in output and "no-such-model.safetensors" in output
