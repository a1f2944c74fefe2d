"""The worker on the real demo model: runs, stores, fails, cancels, recovers."""

import io
import zipfile
from datetime import timedelta

import pytest
from PIL import Image as PILImage
from sqlalchemy import delete as sa_delete
from sqlalchemy import select

from daydream.engine.metadata import parse_parameters
from daydream.extensions import db
from daydream.models import Task, User
from daydream.runtime import get_runtime
from daydream.services import recovery
from daydream.services.credits import ledger_total
from tests.conftest import SMALL, fetch, wait_for


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def state_of(client, task_id):
    return client.get(f"/studio/tasks/{task_id}").json


def finished(client, task_id):
    status = state_of(client, task_id)
    return status if status["state"] in ("done", "failed", "cancelled") else None


def credits_of(app, user):
    with app.app_context():
        balance = db.session.get(User, user.id).credits
        assert ledger_total(user.id) == balance
        return balance


def test_generates_images_with_metadata_and_thumbnails(app, client, logged_in, worker,
                                                       demo_engine):
    data = {**SMALL, "samples": "2", "seed": "1234", "negative_prompt": "fog"}
    data.pop("random_seed")
    task_id = client.post("/studio/tasks", data=data).json["task"]["id"]
    status = wait_for(lambda: finished(client, task_id))
    assert status["state"] == "done", status
    assert [image["seed"] for image in status["images"]] == [1234, 1235]
    assert status["seconds"] > 0 and status["progress"]["step"] == status["progress"]["total"]
    png = fetch(client, status["images"][0]["url"])
    assert png.status_code == 200 and png.mimetype == "image/png"
    with PILImage.open(io.BytesIO(png.data)) as image:
        assert image.size == (64, 64)
        fields = parse_parameters(image.info["parameters"])
    assert fields["prompt"] == "a lighthouse at dawn" and fields["negative_prompt"] == "fog"
    assert fields["seed"] == 1234 and fields["steps"] == 2
    assert len(fields["Model hash"]) == 10 and fields["Model hash"] == demo_engine.model_hash
    thumb = fetch(client, status["images"][0]["thumb_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
    card = client.get("/studio/").get_data(as_text=True)
    assert 'data-testid="thumbnail"' in card and "1234" in card


def test_a_one_step_task_reports_its_one_step(client, logged_in, worker):
    task_id = client.post("/studio/tasks", data={**SMALL, "steps": "1"}).json["task"]["id"]
    assert wait_for(lambda: finished(client, task_id))["progress"] == {"step": 1, "total": 1}


def test_same_seed_same_pixels(app, client, logged_in, worker):
    data = {**SMALL, "seed": "77"}
    data.pop("random_seed")
    first, second = (client.post("/studio/tasks", data=data).json["task"]["id"]
                     for _ in range(2))
    urls = [wait_for(lambda t=t: finished(client, t))["images"][0]["url"]
            for t in (first, second)]
    pixels = []
    for url in urls:
        with PILImage.open(io.BytesIO(fetch(client, url).data)) as image:
            pixels.append(image.tobytes())
    assert pixels[0] == pixels[1]


def test_zip_holds_every_png_with_metadata(client, logged_in, worker):
    task_id = client.post("/studio/tasks", data={**SMALL, "samples": "3"}).json["task"]["id"]
    status = wait_for(lambda: finished(client, task_id))
    response = client.get(f"/studio/tasks/{task_id}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        assert len(names) == 3 and all(name.endswith(".png") for name in names)
        seeds = []
        for name in names:
            with PILImage.open(io.BytesIO(archive.read(name))) as image:
                seeds.append(parse_parameters(image.info["parameters"])["seed"])
    assert seeds == [image["seed"] for image in status["images"]]


def test_img2img_from_upload_and_variant(app, client, logged_in, worker, png_bytes):
    upload = client.post("/studio/tasks", data={**SMALL, "steps": "4", "strength": "0.5",
                                                "init_image": (png_bytes(300, 200), "x.png")})
    assert upload.status_code == 202, upload.json
    done = wait_for(lambda: finished(client, upload.json["task"]["id"]))
    assert done["state"] == "done" and done["mode"] == "img2img"
    assert done["progress"]["total"] == 2, "img2img at strength 0.5 runs half the steps"
    variant = client.post("/studio/tasks", data={**SMALL, "steps": "4", "strength": "0.75",
                                                 "init_from": done["images"][0]["id"]})
    assert variant.status_code == 202
    assert wait_for(lambda: finished(client, variant.json["task"]["id"]))["state"] == "done"


def test_cancel_running_task_refunds(app, client, logged_in, worker):
    before = credits_of(app, logged_in)
    task_id = client.post("/studio/tasks", data={**SMALL, "steps": "60", "width": "256",
                                                 "height": "256"}).json["task"]["id"]
    wait_for(lambda: state_of(client, task_id)["state"] == "running")
    assert client.post(f"/studio/tasks/{task_id}/cancel").status_code == 200
    status = wait_for(lambda: finished(client, task_id))
    assert status["state"] == "cancelled" and status["images"] == []
    # Refunded by the operator's setting (default: the steps that did not run).
    assert 0 < status["refunded"] <= status["cost"]
    assert credits_of(app, logged_in) == before - status["cost"] + status["refunded"]
    # The engine keeps working after a cancel.
    next_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    assert wait_for(lambda: finished(client, next_id))["state"] == "done"


def test_engine_failure_fails_the_task_and_refunds(app, client, logged_in, worker, monkeypatch):
    before = credits_of(app, logged_in)

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(worker.engine, "generate", broken)
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    status = wait_for(lambda: finished(client, task_id))
    assert status["state"] == "failed"
    assert "ran out of memory" in status["error"]
    assert credits_of(app, logged_in) == before


def test_reconcile_requeues_and_gives_up_on_repeat_crashes(app, client, logged_in):
    ids = [client.post("/studio/tasks", data=SMALL).json["task"]["id"] for _ in range(3)]
    before = credits_of(app, logged_in)
    with app.app_context():
        rows = {t.uuid: t for t in db.session.scalars(select(Task))}
        for row in rows.values():
            row.created_at -= timedelta(minutes=5)  # left by a previous process
        rows[ids[0]].state, rows[ids[0]].attempts = "running", 1  # died once: retried
        rows[ids[1]].state, rows[ids[1]].attempts = "running", 2  # died twice: refunded
        db.session.commit()
        app.extensions.pop("daydream.runtime")  # a new process: the queue is empty
        counts = recovery.reconcile()
        order = get_runtime(app).queue.order()
        by_id = {t.id: t.uuid for t in db.session.scalars(select(Task))}
    assert counts == {"requeued": 1, "failed": 1, "cancelled": 0, "pushed": 1}
    assert [by_id[i] for i in order] == [ids[0], ids[2]]
    assert state_of(client, ids[1])["state"] == "failed"
    assert credits_of(app, logged_in) == before + state_of(client, ids[1])["cost"]


def test_abandoned_queued_tasks_are_cancelled(app, client, logged_in):
    app.config["ABANDON_AFTER_SECONDS"] = 1
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    before = credits_of(app, logged_in)
    runtime = get_runtime(app)
    runtime.state._started -= 5  # no page of this user has been open for 5 s
    with app.app_context():
        assert recovery.cancel_abandoned() == 1
    assert state_of(client, task_id)["state"] == "cancelled"
    assert credits_of(app, logged_in) > before


def test_abandon_setting_can_be_turned_off(app, client, logged_in):
    app.config["ABANDON_AFTER_SECONDS"] = 1
    client.post("/account/profile", data={"profile-username": "keeper"})  # box left unticked
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    get_runtime(app).state._started -= 5
    with app.app_context():
        assert recovery.cancel_abandoned() == 0
    assert state_of(client, task_id)["state"] == "queued"


def test_worker_survives_a_failing_chore(app, client, logged_in, worker, monkeypatch):
    from daydream import worker as worker_module

    def broken_chore():
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(worker.housekeeper, "reconcile_every", 0.0)
    monkeypatch.setattr(worker.housekeeper, "interval", 0.05)
    monkeypatch.setattr(worker_module.recovery, "cancel_abandoned", broken_chore)
    first = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    assert wait_for(lambda: finished(client, first))["state"] == "done"
    second = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    assert wait_for(lambda: finished(client, second))["state"] == "done"


def test_a_task_deleted_while_it_runs_leaves_no_files_and_the_worker_goes_on(
        app, client, logged_in, worker, monkeypatch):
    """Its owner's account went while the engine ran: nothing of the run is kept."""
    from daydream.services import storage

    generate = worker.engine.generate

    def generate_then_delete(params, **kwargs):
        result = generate(params, **kwargs)
        with app.app_context():  # another session, as the account's deletion would be
            db.session.execute(sa_delete(Task).where(Task.prompt == "soon gone"))
            db.session.commit()
        return result

    monkeypatch.setattr(worker.engine, "generate", generate_then_delete)
    gone = client.post("/studio/tasks", data={**SMALL, "prompt": "soon gone"}).json["task"]
    wait_for(lambda: client.get(f"/studio/tasks/{gone['id']}").status_code == 404)
    monkeypatch.setattr(worker.engine, "generate", generate)
    kept = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    assert wait_for(lambda: finished(client, kept))["state"] == "done"
    with app.app_context():
        owner = db.session.get(User, logged_in.id)
        folder = storage.media_root() / owner.uuid / gone["id"]
    assert not folder.exists()


def test_a_task_for_an_idle_worker_is_running_from_the_answer_on(app, client, logged_in,
                                                                 worker):
    """Nobody waits and the worker idles: it is handed the task, which starts at once."""
    before = credits_of(app, logged_in)
    answer = client.post("/studio/tasks", data=SMALL).json
    assert answer["task"]["state"] == "running" and answer["task"]["position"] is None
    assert answer["credits"] == before - answer["task"]["cost"]
    status = wait_for(lambda: finished(client, answer["task"]["id"]))
    assert status["state"] == "done" and len(status["images"]) == 1
    assert credits_of(app, logged_in) == before - status["cost"]
