"""Batching across people, on the real demo pipeline: tasks of different people that can
share one UNet batch run together, each with its own seed, events and result, and the
images are the ones each task makes alone."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from daydream.extensions import db, socketio
from daydream.models import Task
from daydream.runner import TaskRunner
from daydream.runtime import get_runtime
from daydream.services import storage
from daydream.services.credits import ledger_total
from tests.conftest import PASSWORD, wait_for

FORM = {"width": "64", "height": "64", "steps": "3", "cfg_scale": "7", "samples": "1",
        "scheduler": "Euler a"}


@pytest.fixture
def app_settings(app_settings):
    """Batching on: up to 8 images in one call; a credit per 64 × 64 px step."""
    return {**app_settings, "MAX_BATCH": 8, "CREDIT_PIXEL_STEPS": 64 * 64}


@pytest.fixture
def runner(app, demo_engine):
    """A worker's task runner on the demo model, driven by the test (one thread at torch)."""
    running = TaskRunner(app, demo_engine, "test-worker")
    yield running
    running.close(30)


class Person:
    """Someone logged in with their own HTTP client and Socket.IO connection."""

    def __init__(self, app, make_user, email: str) -> None:
        self.user = make_user(email)
        self.http = app.test_client()
        self.http.post("/auth/login", data={"email": email, "password": PASSWORD})
        self.socket = socketio.test_client(app, flask_test_client=self.http)
        self.socket.get_received()
        self.received: list[dict] = []

    def submit(self, prompt: str, seed: int, **overrides) -> str:
        """Submit through the studio; the task's public id."""
        answer = self.http.post("/studio/tasks", data={**FORM, "prompt": prompt,
                                                       "seed": str(seed), **overrides})
        assert answer.status_code == 202, answer.json
        return answer.json["task"]["id"]

    def events(self, task_uuid: str | None = None) -> list[tuple[str, dict]]:
        """Events received so far (of one task, if given)."""
        self.received += self.socket.get_received()
        return [(e["name"], e["args"][0]) for e in self.received
                if task_uuid is None or e["args"][0].get("id") == task_uuid]


@pytest.fixture
def people(app, make_user):
    """Three people."""
    return [Person(app, make_user, f"{name}@example.com") for name in ("ann", "ben", "cy")]


def task(app, uuid: str) -> Task:
    with app.app_context():
        row = db.session.scalar(select(Task).where(Task.uuid == uuid))
        images = [(image.seed, image.path) for image in row.images]
        db.session.expunge(row)
        row.stored = images
        return row


def pixels(app, uuid: str) -> list[np.ndarray]:
    """The task's images, decoded from the PNG files the service wrote."""
    with app.app_context():
        return [np.asarray(PILImage.open(io.BytesIO(storage.absolute(path).read_bytes())),
                           dtype=int) for _, path in task(app, uuid).stored]


def run_next(app, runner) -> list[str]:
    """Let the runner take the next task (and its companions); the tasks that ran."""
    before = set(get_runtime(app).queue.order())
    runner.run(get_runtime(app).queue.pop(0))
    with app.app_context():
        ran = db.session.scalars(select(Task.uuid).where(Task.id.in_(
            before - set(get_runtime(app).queue.order()))))
        return sorted(ran)


def test_a_batch_of_three_people_makes_what_each_makes_alone(app, runner, people):
    ann, ben, cy = people
    batched = [ann.submit("a red fox", 11), ben.submit("a blue whale", 22),
               cy.submit("green hills", 33, samples="2", negative_prompt="fog")]
    assert run_next(app, runner) == sorted(batched)  # one engine call ran all three
    assert all(task(app, uuid).state == "done" for uuid in batched)
    app.config["MAX_BATCH"] = 1
    alone = [ann.submit("a red fox", 11), ben.submit("a blue whale", 22),
             cy.submit("green hills", 33, samples="2", negative_prompt="fog")]
    assert sorted(run_next(app, runner)[0] for _ in alone) == sorted(alone)  # one by one
    for together, single in zip(batched, alone, strict=True):
        assert [s for s, _ in task(app, together).stored] == \
            [s for s, _ in task(app, single).stored]
        for a, b in zip(pixels(app, together), pixels(app, single), strict=True):
            # Batched float arithmetic may round a channel differently by a step or two.
            assert np.abs(a - b).max() <= 3 and np.abs(a - b).mean() < 0.1
    # Each image says what it was made from: its own prompt and seed.
    with app.app_context():
        fox = task(app, batched[0]).stored[0][1]
        with PILImage.open(storage.absolute(fox)) as image:
            text = image.info["parameters"]
    assert text.startswith("a red fox") and "Seed: 11" in text


def test_each_member_gets_its_own_events_and_result(app, runner, people):
    ann, ben, _ = people
    mine, theirs = ann.submit("a lighthouse", 5), ben.submit("a windmill", 6)
    assert run_next(app, runner) == sorted([mine, theirs])
    for person, uuid, other in ((ann, mine, theirs), (ben, theirs, mine)):
        names = [name for name, _ in person.events(uuid) if name != "task.queued"]
        assert names == ["task.started", "task.progress", "task.progress", "task.progress",
                         "task.done"]
        steps = [p["step"] for name, p in person.events(uuid) if name == "task.progress"]
        assert steps == [1, 2, 3]
        assert all(p["preview"].startswith("data:image/jpeg") for name, p in
                   person.events(uuid) if name == "task.progress")
        assert person.events(other) == []  # nobody hears of the other's task
        done = [p for name, p in person.events(uuid) if name == "task.done"][0]
        assert len(done["images"]) == 1
        status = person.http.get(f"/studio/tasks/{uuid}").json
        assert status["state"] == "done" and len(status["images"]) == 1
        assert person.http.get(f"/studio/tasks/{other}").status_code == 404


def test_cancelling_one_member_mid_batch_refunds_it_and_the_others_go_on(app, runner,
                                                                         people):
    ann, ben, cy = people
    steps = {"steps": "30"}
    uuids = [ann.submit("a fox", 1, **steps), ben.submit("a whale", 2, **steps),
             cy.submit("hills", 3, **steps)]
    worker = threading.Thread(target=run_next, args=(app, runner))
    worker.start()  # the only thread calling torch while it runs
    wait_for(lambda: any(name == "task.progress" for name, _ in ben.events(uuids[1])), 60)
    assert ben.http.post(f"/studio/tasks/{uuids[1]}/cancel").status_code == 200
    worker.join(300)
    runner.close(30)
    fox, whale, hills = (task(app, uuid) for uuid in uuids)
    assert fox.state == hills.state == "done" and len(fox.stored) == len(hills.stored) == 1
    assert whale.state == "cancelled" and whale.stored == []
    # Charged for the steps that ran (the default refund policy), refunded the rest.
    step = int(whale.error.split("step ")[1].split()[0])
    assert whale.cost == 30 and 0 < step < 30 and whale.refunded == 30 - step
    assert [name for name, _ in ben.events(uuids[1])][-1] == "task.cancelled"
    with app.app_context():
        assert not (storage.media_root() / ben.user.uuid / whale.uuid).exists()
        for person in people:
            assert ledger_total(person.user.id) == db.session.get(
                type(person.user), person.user.id).credits


def test_the_fair_order_still_chooses_who_goes_first(app, runner, people):
    ann, ben, cy = people
    a1 = ann.submit("ann one", 1)
    a2 = ann.submit("ann two", 2)
    b1 = ben.submit("ben big", 3, width="128")  # cannot share a 64 px batch
    c1 = cy.submit("cy one", 4)
    # The queue's fair order: A1 B1 C1 A2. A1 goes first and those behind it that fit join.
    app.config["MAX_BATCH"] = 2
    assert run_next(app, runner) == sorted([a1, c1])
    assert run_next(app, runner) == [b1]
    assert run_next(app, runner) == [a2]


def picture(colour: tuple[int, int, int]) -> io.BytesIO:
    """A small PNG upload: a gradient over ``colour`` (so the encoder sees some detail)."""
    array = np.zeros((80, 96, 3), dtype=np.uint8) + np.array(colour, dtype=np.uint8)
    array[:, :, 0] = np.linspace(0, 255, 96, dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def test_img2img_tasks_over_their_own_pictures_share_a_batch(app, runner, people):
    ann, ben, cy = people
    img2img = {"strength": "0.6", "steps": "5"}

    def submit_all() -> list[str]:
        return [ann.submit("a fox", 7, init_image=(picture((200, 40, 40)), "a.png"), **img2img),
                ben.submit("a whale", 8, init_image=(picture((20, 40, 220)), "b.png"),
                           **img2img),
                cy.submit("plain txt2img", 9, steps="5")]  # another mode: not with them

    batched = submit_all()
    assert run_next(app, runner) == sorted(batched[:2])
    assert run_next(app, runner) == [batched[2]]
    app.config["MAX_BATCH"] = 1
    alone = submit_all()
    assert sorted(run_next(app, runner)[0] for _ in alone) == sorted(alone)
    for together, single in zip(batched, alone, strict=True):
        assert task(app, together).mode == task(app, single).mode
        for a, b in zip(pixels(app, together), pixels(app, single), strict=True):
            assert np.abs(a - b).max() <= 3 and np.abs(a - b).mean() < 0.1


@pytest.mark.parametrize("different", [
    {"steps": "4"}, {"cfg_scale": "5"}, {"scheduler": "DDIM"}, {"height": "72"},
    {"enable_hr": "1", "hr_scale": "1.5"},
])
def test_tasks_that_differ_in_a_shared_setting_run_apart(app, runner, people, different):
    ann, ben, _ = people
    first, second = ann.submit("one", 1), ben.submit("two", 2, **different)
    assert task(app, second).state == "queued"
    assert run_next(app, runner) == [first]
    assert run_next(app, runner) == [second]


def test_the_batch_respects_its_image_limit_and_credits_add_up(app, runner, people):
    ann, ben, cy = people
    app.config["MAX_BATCH"] = 3
    uuids = [ann.submit("a", 1, samples="2"), ben.submit("b", 2, samples="2"),
             cy.submit("c", 3)]
    assert run_next(app, runner) == sorted([uuids[0], uuids[2]])  # 2 + 1 images
    assert run_next(app, runner) == [uuids[1]]
    with app.app_context():
        for person in people:
            user = db.session.get(type(person.user), person.user.id)
            assert ledger_total(user.id) == user.credits < person.user.credits
