"""Account self-service: export, delete my images, delete my account; stopping tasks first."""

from __future__ import annotations

import io
import json
import logging
import zipfile

from daydream.extensions import db
from daydream.models import ApiKey, CreditEntry, Image, Task, User
from daydream.services import apikeys, storage
from daydream.services.credits import ledger_total
from tests.conftest import PASSWORD, SMALL, fetch, wait_for

LONG = {**SMALL, "width": "256", "height": "256", "steps": "100"}


def test_export_holds_account_ledger_and_tasks_and_names_the_archived_pngs(
        client, auth, user, make_images):
    make_images(user, 2, prompt="exported dream")
    auth.login(user.email)
    response = client.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data())
    assert document["account"]["email"] == user.email
    assert [e["kind"] for e in document["ledger"]] == ["signup"]
    (task,) = document["tasks"]
    assert task["prompt"] == "exported dream" and len(task["images"]) == 2
    # The export is the records; the images are the archive's, under the same names.
    assert client.post("/account/archive").status_code == 303
    page = client.get("/account/?tab=archive").get_data(as_text=True)
    archive_uuid = page.split('data-archive="')[1].split('"')[0]
    wait_for(lambda: client.get(f"/account/archive/{archive_uuid}").json["state"] == "ready")
    bundle = zipfile.ZipFile(io.BytesIO(fetch(client, f"/account/archive/{archive_uuid}.zip")
                                        .data))
    assert {i["file"] for i in task["images"]} == set(bundle.namelist())
    assert bundle.read(task["images"][0]["file"]).startswith(b"\x89PNG")


def test_delete_my_images_needs_the_password(app, client, auth, user, make_images, make_task):
    make_images(user, 2)
    make_task(user, prompt="still queued")
    auth.login(user.email)
    wrong = client.post("/account/images/delete", data={"images-password": "wrong one"})
    assert wrong.status_code == 400 and b"Your password is not correct." in wrong.data
    done = client.post("/account/images/delete", data={"images-password": PASSWORD})
    assert done.status_code == 302
    assert "Deleted 2 images" in client.get("/account/?tab=data").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(db.select(Image)).all() == []
        assert list(db.session.scalars(db.select(Task.prompt))) == ["still queued"]
        assert not any(storage.media_root().rglob("*.png"))


def test_delete_account_keeps_an_anonymous_ledger(app, client, auth, user, make_images):
    make_images(user, 1)
    with app.app_context():
        apikeys.create_key(db.session.get(User, user.id), "script")
    auth.login(user.email)
    refused = client.post("/account/delete", data={"account-password": PASSWORD})
    assert refused.status_code == 400 and b"Tick the box to confirm." in refused.data
    wrong = client.post("/account/delete", data={"account-password": "nope nope nope",
                                                 "account-understood": "y"})
    assert wrong.status_code == 400
    gone = client.post("/account/delete", data={"account-password": PASSWORD,
                                                "account-understood": "y"})
    assert gone.status_code == 302
    assert client.get("/account/").status_code == 302  # logged out
    assert auth.login(user.email).status_code == 401
    with app.app_context():
        row = db.session.get(User, user.id)
        assert row.email.startswith("deleted-") and row.email.endswith("@deleted.invalid")
        assert row.deleted_at is not None and not row.active and row.username is None
        assert db.session.scalars(db.select(Task)).all() == []
        assert db.session.scalars(db.select(ApiKey)).all() == []
        entries = db.session.scalars(db.select(CreditEntry)).all()
        assert entries and ledger_total(user.id) == row.credits
        assert not (storage.media_root() / user.uuid).exists()
    again = client.post("/auth/register", data={"email": user.email, "password": PASSWORD,
                                                "confirm": PASSWORD})
    assert again.status_code == 302  # the address is free again


def test_deleting_my_account_stops_my_running_task_first(app, client, auth, user, worker,
                                                         caplog):
    auth.login(user.email)
    task_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{task_id}").json["state"] == "running")
    with caplog.at_level(logging.WARNING):
        response = client.post("/account/delete", data={"account-password": PASSWORD,
                                                        "account-understood": "y"})
    assert response.status_code == 302
    assert "ObjectDeletedError" not in caplog.text and "Internal worker error" not in caplog.text
    with app.app_context():
        kinds = [e.kind for e in db.session.scalars(
            db.select(CreditEntry).order_by(CreditEntry.id))]
        assert kinds == ["signup", "charge", "refund"]
        assert ledger_total(user.id) == db.session.get(User, user.id).credits


def test_disabling_cancels_queued_and_running_tasks_with_refunds(
        app, client, auth, user, staff, worker, make_user):
    auth.login(user.email)
    running = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    queued = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{running}").json["state"] == "running")
    auth.logout()
    auth.login(staff.email)
    client.post(f"/admin/users/{user.id}/toggle")
    with app.app_context():
        def states():
            rows = db.session.scalars(db.select(Task).where(Task.user_id == user.id))
            db.session.expire_all()
            return {t.uuid: t.state for t in rows}
        wait_for(lambda: states() == {running: "cancelled", queued: "cancelled"})
        owner = db.session.get(User, user.id)
        assert owner.credits == 500 and ledger_total(user.id) == 500


def test_admin_deleting_a_user_with_a_running_task_cancels_it_cleanly(
        app, client, auth, user, staff, worker, caplog):
    auth.login(user.email)
    task_id = client.post("/studio/tasks", data=LONG).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{task_id}").json["state"] == "running")
    auth.logout()
    auth.login(staff.email)
    with caplog.at_level(logging.WARNING):
        client.post(f"/admin/users/{user.id}/delete")
    with app.app_context():
        assert db.session.get(User, user.id) is None
    assert "ObjectDeletedError" not in caplog.text and "failed" not in caplog.text
    # The worker carries on: the staff member's own task runs to the end.
    mine = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{mine}").json["state"] == "done")
