"""Workers that hold several models: per-task models on the real pipeline (SD 1.x and SDXL
demo models), model affinity that keeps the fair order, loads that fail without taking the
worker down. The embedded worker thread runs the tasks; requests go through the native API."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydream.engine.metadata import read_png_parameters
from daydream.extensions import db
from daydream.models import Task
from daydream.services import storage
from daydream.services.models import scan_library
from tests.api.conftest import bearer
from tests.conftest import wait_for

SD1, XL = "daydream-demo", "daydream-demo-xl"
TINY = {"prompt": "a lighthouse at dawn", "width": 64, "height": 64, "steps": 2,
        "scheduler": "Euler", "seed": 5}


@pytest.fixture(scope="session")
def two_models(tmp_path_factory) -> Path:
    """A models folder holding the SD 1.x and the SDXL demo models (built offline)."""
    from daydream.engine.demo import build_demo_model
    from daydream.engine.demo_xl import build_sdxl_demo_model

    folder = tmp_path_factory.mktemp("library")
    build_demo_model(folder / SD1)
    build_sdxl_demo_model(folder / XL)
    return folder


@pytest.fixture
def library_settings(app_settings, two_models):
    app_settings.update(MODELS_DIR=str(two_models), QUEUE_MAX_PER_USER=20)
    return app_settings


@pytest.fixture
def new_key(app):
    """Factory: an API key of ``user``."""
    from daydream.models import User
    from daydream.services import apikeys

    def factory(user) -> str:
        with app.app_context():
            return apikeys.create_key(db.session.get(User, user.id), "test")[1]

    return factory


def start_worker(app):
    from daydream.worker import Worker

    worker = Worker(app).start()
    worker.wait_ready(120)
    return worker


@pytest.fixture
def stop_workers():
    started = []
    yield started
    for worker in started:
        worker.stop()


def submit(client, key: str, model: str | None, **extra) -> str:
    body = {**TINY, **extra, **({"model": model} if model else {})}
    response = client.post("/api/v1/tasks", headers=bearer(key), json=body)
    assert response.status_code == 202, response.json
    return response.json["id"]


def finished(client, key: str, task_id: str) -> dict:
    """Wait (reading the row: polling the API would hit its rate limit) for the task to end;
    then the API's view of it."""
    app = client.application

    def state() -> str | None:
        with app.app_context():
            task = db.session.scalar(db.select(Task).filter_by(uuid=task_id))
            return task.state if task.state in ("done", "failed") else None

    wait_for(state, timeout=120, interval=0.2)
    return client.get(f"/api/v1/tasks/{task_id}", headers=bearer(key)).json


def png_fields(app, task_id: str) -> dict:
    """The infotext fields of the task's first PNG."""
    with app.app_context():
        task = db.session.scalar(db.select(Task).filter_by(uuid=task_id))
        return read_png_parameters(storage.absolute(task.images[0].path))["parsed"]


def started_order(app, ids: list[str]) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(db.select(Task).where(Task.uuid.in_(ids))).all()
        return [task.uuid for task in sorted(rows, key=lambda task: task.started_at)]


def test_an_sd1_and_an_sdxl_task_in_one_queue_each_run_on_their_model(
        library_settings, app, client, user, new_key, two_models, stop_workers):
    key = new_key(user)
    library = scan_library(two_models)
    ids = {model: submit(client, key, model) for model in (XL, SD1)}
    stop_workers.append(worker := start_worker(app))
    for model, task_id in ids.items():
        view = finished(client, key, task_id)
        assert view["state"] == "done" and view["model"] == model
        fields = png_fields(app, task_id)
        # The hash comes from the engine that made the image: the right weights were used.
        assert (fields["model"], fields["Model hash"]) == (model, library.get(model).hash)
    assert library.get(SD1).hash != library.get(XL).hash
    assert set(worker.runner.models.names()) == {SD1, XL}  # two held (WORKER_MODELS=2)
    info = client.get("/api/v1/info", headers=bearer(key)).json
    assert {m["name"] for m in info["models"]} == {SD1, XL}  # the worker advertises both


def test_a_model_switch_mid_queue_keeps_the_fair_order_between_people(
        library_settings, app, client, make_user, new_key, stop_workers):
    app.config.update(WORKER_MODELS=1)
    keys = {name: new_key(make_user(f"{name}@example.com")) for name in "ABC"}
    # A1 A2 B1 C1 C2 A3 on SD1 XL XL SD1 XL SD1, all waiting before the worker starts.
    plan = [("A", SD1), ("A", XL), ("B", XL), ("C", SD1), ("C", XL), ("A", SD1)]
    ids = [submit(client, keys[person], model) for person, model in plan]
    stop_workers.append(worker := start_worker(app))  # holds SD1, the default, only
    for (person, model), task_id in zip(plan, ids, strict=True):
        view = finished(client, keys[person], task_id)
        assert view["state"] == "done" and png_fields(app, task_id)["model"] == model
    a1, a2, b1, c1, c2, a3 = ids
    # Round 1: A1 and C1 on the held SD1, then B1 (the one switch of the round); round 2:
    # A2 and C2 on XL, now held; round 3: A3, switching back. The plain fair order would
    # switch four times (A1 B1 C1 A2 C2 A3).
    assert started_order(app, ids) == [a1, c1, b1, a2, c2, a3]
    assert worker.runner.models.loads == 2


def test_a_model_that_cannot_load_fails_its_task_with_a_refund_and_the_worker_stays_up(
        library_settings, app, client, user, new_key, two_models, stop_workers, tmp_path):
    from tests.test_models_library import CLIP, UNET_IN, write_safetensors

    models = tmp_path / "models"
    models.mkdir()
    for name in (SD1, XL):
        (models / name).symlink_to(two_models / name)
    # A header that says SD 1.x, but no weights behind it.
    write_safetensors(models / "broken.safetensors", {UNET_IN: (320, 4, 3, 3), CLIP: (49408, 768)})
    (models / "models.toml").write_text(f'default = "{SD1}"\n')
    # 10 MB of weights: the SD 1.x demo (9.6 MB) fits, the SDXL demo (11.9 MB) does not.
    app.config.update(MODELS_DIR=str(models), WORKER_MODELS_MB=10)
    key = new_key(user)
    before = client.get("/api/v1/account", headers=bearer(key)).json["credits"]
    broken, too_big, fine = (submit(client, key, name) for name in ("broken", XL, SD1))
    stop_workers.append(worker := start_worker(app))
    failed = finished(client, key, broken)
    assert failed["state"] == "failed" and failed["refunded"] == failed["cost"]
    assert "Model 'broken' could not be loaded on this worker" in failed["error"]
    big = finished(client, key, too_big)
    assert big["state"] == "failed"
    assert "'daydream-demo-xl' is too big for this worker's model memory (10 MB)" in big["error"]
    assert finished(client, key, fine)["state"] == "done"
    assert worker.runner.models.names() == [SD1]
    after = client.get("/api/v1/account", headers=bearer(key)).json["credits"]
    assert before - after == client.get(f"/api/v1/tasks/{fine}", headers=bearer(key)).json["cost"]


def test_a_lora_changes_the_output_and_is_gone_for_the_next_task_on_a_held_model(
        library_settings, app, client, user, new_key, stop_workers, tmp_path):
    from daydream.engine.demo_lora import build_demo_lora

    build_demo_lora(tmp_path / "loras" / "sparkle.safetensors", seed=0)
    app.config.update(LORA_DIR=str(tmp_path / "loras"))
    key = new_key(user)
    prompts = ["a fox", "a fox <lora:sparkle:0.8>", None, "a fox"]  # None: an SDXL task between
    ids = [submit(client, key, SD1, prompt=p) if p else submit(client, key, XL) for p in prompts]
    stop_workers.append(start_worker(app))
    assert all(finished(client, key, task_id)["state"] == "done" for task_id in ids)

    def pixels(task_id: str) -> bytes:
        from PIL import Image

        with app.app_context():
            task = db.session.scalar(db.select(Task).filter_by(uuid=task_id))
            with Image.open(storage.absolute(task.images[0].path)) as image:
                return image.tobytes()

    plain, with_lora, _, after = map(pixels, ids)
    assert with_lora != plain
    assert after == plain  # the held SD 1.x model came back without the LoRA
