"""Every documented way to run the embedded site, as real processes, running a real task."""

import signal
import sys

from simple_websocket import Client

from tests.processes import (
    CLI,
    api_key,
    free_port,
    run_cli,
    run_task,
    start,
    stop,
    wait_for_site,
)

DEV_SERVER_WARNING = "This is a development server"
GUNICORN = [sys.executable, "-m", "gunicorn", "--threads", "8", "--timeout", "120"]


def open_websocket(port: int) -> Client:
    """An Engine.IO WebSocket, as a page holds one: it keeps a server thread busy."""
    socket = Client.connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket")
    # Generous: on a loaded CI machine the first handshake can take seconds.
    handshake = socket.receive(timeout=60)
    assert handshake and handshake.startswith("0{"), f"no Engine.IO handshake: {handshake!r}"
    return socket


def assert_clean(code: int, output: str) -> None:
    assert code == 0, output
    for sign in ("Traceback", "terminate called", "Exception in thread"):
        assert sign not in output, output


def test_serve_runs_tasks_on_a_production_server_and_stops_cleanly(tmp_path):
    instance = tmp_path / "instance"
    run_cli(instance, "db", "upgrade")
    key = api_key(instance)
    port = free_port()
    # A grace period far longer than the bound below: only dropping the page's socket at
    # once (rather than waiting it out) makes the shutdown fast enough.
    server = start([*CLI, "serve", "--port", str(port)], instance,
                   DAYDREAM_SHUTDOWN_TIMEOUT="120")
    try:
        wait_for_site(server, port)
        task = run_task(port, key)
        assert task["state"] == "done" and len(task["images"]) == 1
        # A page's WebSocket must not hold the shutdown for the whole grace period.
        socket = open_websocket(port)
        code, output, seconds = stop(server, signal.SIGTERM)
        assert not socket.connected, "the server lets go of open pages at shutdown"
    finally:
        server.kill()
    assert_clean(code, output)
    assert seconds < 60, f"SIGTERM took {seconds:.1f} s"
    assert "Model ready: daydream-demo" in output and "gunicorn" in output
    assert DEV_SERVER_WARNING not in output
    assert "Run exactly one process" in output


def test_second_process_on_the_same_instance_refuses_to_start(tmp_path):
    instance = tmp_path / "instance"
    run_cli(instance, "db", "upgrade")
    first_port, second_port = free_port(), free_port()
    first = start([*CLI, "serve", "--port", str(first_port)], instance)
    try:
        wait_for_site(first, first_port)
        second = start([*CLI, "serve", "--port", str(second_port)], instance)
        output = second.communicate(timeout=120)[0]
        assert second.returncode != 0
        assert "DAYDREAM_REDIS_URL" in output and "daydream worker" in output, output
        code, first_output, _ = stop(first, signal.SIGINT)
    finally:
        first.kill()
    assert_clean(code, first_output)


def test_wsgi_entry_point_under_gunicorn_runs_tasks(tmp_path):
    instance = tmp_path / "instance"
    production = {"DAYDREAM_ENV": "production", "DAYDREAM_SECRET_KEY": "k" * 40}
    run_cli(instance, "db", "upgrade", **production)
    key = api_key(instance, **production)
    port = free_port()
    server = start([*GUNICORN, "-w", "1", "-b", f"127.0.0.1:{port}", "daydream.wsgi:app"],
                   instance, **production)
    try:
        wait_for_site(server, port)
        assert run_task(port, key)["state"] == "done"
        code, output, _ = stop(server, signal.SIGTERM)
    finally:
        server.kill()
    assert "Run exactly one process" in output
    assert code == 0, output


def test_wsgi_entry_point_refuses_several_processes_with_the_in_process_queue(tmp_path):
    instance = tmp_path / "instance"
    production = {"DAYDREAM_ENV": "production", "DAYDREAM_SECRET_KEY": "k" * 40}
    run_cli(instance, "db", "upgrade", **production)
    server = start([*GUNICORN, "-w", "2", "-b", f"127.0.0.1:{free_port()}",
                    "daydream.wsgi:app"], instance, **production)
    try:
        output = server.communicate(timeout=180)[0]
    finally:
        server.kill()
    assert server.returncode != 0
    assert "DAYDREAM_REDIS_URL" in output and "daydream worker" in output, output


def test_serve_refuses_a_bad_model_at_start(tmp_path):
    instance = tmp_path / "instance"
    run_cli(instance, "db", "upgrade")
    server = start([*CLI, "serve", "--port", str(free_port())], instance,
                   DAYDREAM_MODEL=str(tmp_path / "no-such-model.safetensors"))
    try:
        output = server.communicate(timeout=120)[0]
    finally:
        server.kill()
    assert server.returncode != 0
    assert "Could not load the model" in output and "no-such-model.safetensors" in output
    assert "Traceback" not in output


def test_the_server_hides_its_start_up_objects_from_the_collector(app):
    """A full garbage collection must not walk the app, torch and the model under load."""
    import gc

    from daydream.server import DaydreamServer

    app.config["QUEUE_BACKEND"] = "rq"  # no embedded worker in this test
    server = DaydreamServer(lambda: app, "127.0.0.1", 0, threads=1, shutdown_timeout=1)
    threshold = gc.get_threshold()
    try:
        assert server.load() is app
        assert gc.get_freeze_count() > 1000 and gc.get_threshold()[0] > threshold[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
