"""Account archives: built in the background, one at a time, downloadable, then removed."""

import io
import threading
import zipfile
from datetime import timedelta

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Archive, Image, Task, User
from daydream.models.base import utcnow
from daydream.services import account_archive, archive_jobs, storage
from tests.conftest import fetch, wait_for


@pytest.fixture
def make_images(app, make_task):
    """Factory: ``count`` real PNG files with image rows for a user; returns their bytes."""

    def factory(user, count: int = 3) -> list[bytes]:
        written = []
        task = make_task(user, samples=count, state="done")
        with app.app_context():
            task = db.session.get(Task, task.id)
            for index in range(count):
                buffer = io.BytesIO()
                PILImage.new("RGB", (16, 16), (index * 40, 90, 200)).save(buffer, "PNG")
                relative = f"{task.user.uuid}/{task.uuid}/{index}.png"
                path = storage.media_root() / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(buffer.getvalue())
                db.session.add(Image(task_id=task.id, index=index, path=relative,
                                     thumb_path=relative, seed=100 + index, width=16,
                                     height=16))
                written.append(buffer.getvalue())
            db.session.commit()
        return written

    return factory


def archive_state(client, archive_uuid):
    return client.get(f"/account/archive/{archive_uuid}").json


def request_and_wait(client) -> dict:
    assert client.post("/account/archive").status_code == 303
    page = client.get("/account/?tab=archive").get_data(as_text=True)
    archive_uuid = page.split('data-archive="')[1].split('"')[0]
    return wait_for(lambda: (s := archive_state(client, archive_uuid))["state"] == "ready" and s)


def test_nothing_to_archive(client, auth, user):
    auth.login(user.email)
    client.post("/account/archive")
    assert b"You have no images to archive yet." in client.get("/account/?tab=archive").data


def test_archive_is_built_in_the_background_and_downloads(app, client, auth, user,
                                                          make_images):
    pngs = make_images(user, 3)
    auth.login(user.email)
    status = request_and_wait(client)
    assert status["done"] == status["total"] == 3 and status["size_bytes"] > 0
    page = client.get("/account/?tab=archive").get_data(as_text=True)
    assert 'data-testid="archive-download"' in page and "Ready: 3 images" in page
    response = fetch(client, f"/account/archive/{status['id']}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        names = sorted(bundle.namelist())
        assert len(names) == 3 and names[0].endswith("-1-seed100.png")
        assert sorted(bundle.read(name) for name in names) == sorted(pngs)


def test_one_archive_at_a_time(app, user, make_images):
    make_images(user, 2)
    with app.app_context():
        person = db.session.get(User, user.id)
        account_archive.request_archive(person)
        with pytest.raises(account_archive.ArchiveError, match="already being built"):
            account_archive.request_archive(person)
        assert db.session.query(Archive).count() == 1


def test_others_cannot_see_an_archive_but_staff_can(app, client, auth, user, staff,
                                                   make_user, make_images):
    make_images(user, 1)
    auth.login(user.email)
    status = request_and_wait(client)
    auth.logout()
    auth.login(make_user("nosy@example.com").email)
    assert client.get(f"/account/archive/{status['id']}").status_code == 404
    assert fetch(client, f"/account/archive/{status['id']}.zip").status_code == 404
    auth.logout()
    auth.login(staff.email)
    page = client.get("/admin/archives").get_data(as_text=True)
    assert user.email in page and "ready" in page
    assert fetch(client, f"/account/archive/{status['id']}.zip").status_code == 200


def test_expired_archives_are_removed(app, client, auth, user, make_images):
    make_images(user, 1)
    auth.login(user.email)
    status = request_and_wait(client)
    with app.app_context():
        archive = db.session.scalar(select(Archive))
        path = account_archive.file_of(archive)
        assert path.is_file()
        archive.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        account_archive.sweep()
        assert db.session.scalar(select(Archive.state)) == "expired"
        assert not path.exists()
    assert fetch(client, f"/account/archive/{status['id']}.zip").status_code == 404


def test_an_archive_whose_builder_died_fails_and_can_be_asked_again(app, client, auth, user,
                                                                    make_images):
    make_images(user, 2)
    with app.app_context():
        archive = account_archive.request_archive(db.session.get(User, user.id))
        # A builder that died mid-way (a worker killed): building, its heartbeat long gone,
        # half a file left behind.
        archive.state, archive.heartbeat_at = "building", utcnow() - timedelta(minutes=10)
        db.session.commit()
        part = account_archive.archive_folder() / f"{archive.uuid}.zip.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"PK half")
    auth.login(user.email)
    page = client.get("/account/?tab=archive").get_data(as_text=True)
    assert "The archive stopped before it was finished" in page and "Please try again." in page
    assert "Try again" in page and not part.exists()
    status = request_and_wait(client)
    assert status["done"] == 2


def test_a_fresh_building_archive_is_left_alone(app, user, make_images):
    make_images(user, 1)
    with app.app_context():
        archive = account_archive.request_archive(db.session.get(User, user.id))
        archive.state, archive.heartbeat_at = "building", utcnow()
        db.session.commit()
        assert account_archive.sweep() == []
        assert db.session.get(Archive, archive.id).state == "building"


def test_the_server_builds_one_archive_at_a_time(app, client, auth, make_user, make_images):
    people = [make_user(f"many{n}@example.com") for n in range(6)]
    for person in people:
        make_images(person, 2)
    most = 0

    def builders() -> int:
        nonlocal most
        most = max(most, sum(t.name == "daydream-archives" for t in threading.enumerate()))
        return most

    with app.app_context():
        for person in people:
            archive = account_archive.request_archive(db.session.get(User, person.id))
            archive_jobs.dispatch(app, archive.id)
            builders()

    def all_ready():
        builders()
        with app.app_context():
            states = set(db.session.scalars(select(Archive.state)))
            db.session.rollback()
        return states == {"ready"}

    wait_for(all_ready, interval=0.005)
    assert most == 1  # six requests at once, never more than one builder thread


def test_the_archive_tab_shows_progress_while_building(app, client, auth, user, make_images):
    make_images(user, 2)
    with app.app_context():
        archive = account_archive.request_archive(db.session.get(User, user.id))
        archive.state, archive.heartbeat_at, archive.images_done = "building", utcnow(), 1
        db.session.commit()
    auth.login(user.email)
    page = client.get("/account/?tab=archive").get_data(as_text=True)
    assert "Building: <span class=\"archive-done\">1</span> of 2 images" in page
    assert "js/archive.js" in page and "Build my archive" not in page

