"""The public gallery: owners share, everyone sees, staff prune."""

import pytest

from daydream.extensions import db
from daydream.models import AuditEntry, Image, User
from daydream.services import gallery_import
from tests.conftest import SMALL, fetch, wait_for
from tests.library_factories import bulk_images
from tests.querycount import count_for


@pytest.fixture
def shared_image(client, auth, user, worker):
    auth.login(user.email)
    task_id = client.post("/studio/tasks", data={**SMALL, "prompt": "a shared sunset"}
                          ).json["task"]["id"]
    status = wait_for(lambda: (s := client.get(f"/studio/tasks/{task_id}").json)["state"]
                      == "done" and s)
    image = status["images"][0]
    assert client.post(f"/studio/images/{image['id']}/share").json["public"] is True
    auth.logout()
    return image


def test_empty_gallery(client):
    assert b'data-testid="gallery-empty"' in client.get("/gallery").data


def test_shared_images_are_public(client, shared_image):
    page = client.get("/gallery").get_data(as_text=True)
    assert "a shared sunset" in page and str(shared_image["seed"]) in page
    assert fetch(client, shared_image["url"]).status_code == 200  # anonymous may open it


def test_private_images_stay_private(client, auth, user, worker, make_user):
    auth.login(user.email)
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    status = wait_for(lambda: (s := client.get(f"/studio/tasks/{task_id}").json)["state"]
                      == "done" and s)
    url = status["images"][0]["url"]
    auth.logout()
    assert fetch(client, url).status_code == 404
    auth.login(make_user("nosy@example.com").email)
    assert fetch(client, url).status_code == 404
    image_id = status["images"][0]["id"]
    assert client.post(f"/studio/images/{image_id}/share").status_code == 404


def test_owner_can_unshare(client, auth, user, shared_image):
    auth.login(user.email)
    client.post(f"/studio/images/{shared_image['id']}/share", data={"shared": "0"})
    auth.logout()
    assert b'data-testid="gallery-empty"' in client.get("/gallery").data


def test_staff_can_prune(client, auth, staff, shared_image):
    auth.login(staff.email)
    assert "Remove from gallery" in client.get("/gallery").get_data(as_text=True)
    response = client.post(f"/admin/images/{shared_image['id']}/hide")
    assert response.status_code == 303
    assert b'data-testid="gallery-empty"' in client.get("/gallery").data


@pytest.fixture
def imported(app, staff, tmp_path):
    """Factory: import ``prompts`` as gallery images owned by ``owner`` (staff by default)."""
    import io

    from PIL import Image as PILImage
    from PIL import PngImagePlugin

    def factory(prompts, owner=None, featured=False):
        folder = tmp_path / f"import-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for index, prompt in enumerate(prompts):
            info = PngImagePlugin.PngInfo()
            info.add_text("parameters", f"{prompt}\nSteps: 12, Sampler: Euler, CFG scale: 5, "
                                        f"Seed: {77 + index}, Size: 32x32")
            buffer = io.BytesIO()
            PILImage.new("RGB", (32, 32), (index % 255, 10, 10)).save(buffer, "PNG",
                                                                      pnginfo=info)
            (folder / f"{index:03d}.png").write_bytes(buffer.getvalue())
        with app.app_context():
            person = db.session.get(User, (owner or staff).id)
            gallery_import.import_folder(folder, person, featured=featured)
            return [image.uuid for image in db.session.query(Image).order_by(Image.id)
                    .all()[-len(prompts):]]

    return factory


def test_staff_hide_restore_and_feature(app, client, auth, staff, imported):
    [image_id] = imported(["a quiet harbour"])
    auth.login(staff.email)
    assert "a quiet harbour" in client.get("/admin/gallery").get_data(as_text=True)
    assert fetch(client, f"/media/{image_id}.png").status_code == 200
    client.post(f"/admin/images/{image_id}/hide")
    assert b'data-testid="gallery-empty"' in client.get("/gallery").data
    assert client.get(f"/gallery/{image_id}").status_code == 404
    auth.logout()
    # A hidden image is no longer public anywhere (access.is_public), only to staff/owner.
    assert fetch(client, f"/media/{image_id}.png").status_code == 404
    auth.login(staff.email)
    hidden = client.get("/admin/gallery?show=hidden").get_data(as_text=True)
    assert "a quiet harbour" in hidden and 'data-testid="curate-restore"' in hidden
    client.post(f"/admin/images/{image_id}/restore")
    assert "a quiet harbour" in client.get("/gallery").get_data(as_text=True)
    client.post(f"/admin/images/{image_id}/feature")
    auth.logout()
    landing = client.get("/").get_data(as_text=True)
    assert f'/gallery/{image_id}"' in landing and 'data-testid="landing-featured"' in landing
    with app.app_context():
        actions = [entry.action for entry in db.session.query(AuditEntry)
                   .order_by(AuditEntry.id) if entry.action.startswith("image.")]
        assert actions == ["image.hide", "image.restore", "image.feature"]


def test_gallery_image_page_and_try_this_prompt(client, auth, user, imported):
    from urllib.parse import parse_qs, urlsplit

    [image_id] = imported(["a fox in the snow"])
    page = client.get(f"/gallery/{image_id}").get_data(as_text=True)
    assert "a fox in the snow" in page and "Euler" in page and ">77<" in page
    link = page.split('data-testid="try-prompt"')[0].rsplit('href="', 1)[1].split('"')[0]
    link = link.replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == "/studio/"
    assert query["prompt"] == ["a fox in the snow"] and query["steps"] == ["12"]
    assert query["seed"] == ["77"] and query["width"] == ["32"]
    # Anonymous visitors go through the login page and come back to the filled studio.
    response = client.get(link)
    assert response.status_code == 302 and "/auth/login" in response.location
    auth.login(user.email)
    assert client.get(link).status_code == 200


def test_owners_may_hide_their_prompt(app, client, auth, make_user, imported):
    artist = make_user("artist@example.com")
    [image_id] = imported(["my secret recipe"], owner=artist)
    auth.login(artist.email)
    client.post(f"/gallery/{image_id}/prompt", data={"hidden": "1"})
    auth.logout()
    page = client.get(f"/gallery/{image_id}").get_data(as_text=True)
    assert "my secret recipe" not in page and 'data-testid="prompt-hidden"' in page
    assert 'data-testid="try-prompt"' not in page
    listing = client.get("/gallery").get_data(as_text=True)
    assert "my secret recipe" not in listing and "Prompt kept private" in listing
    assert "my secret recipe" not in client.get("/gallery?q=secret").get_data(as_text=True)
    # Only the owner can change it.
    auth.login(make_user("other@example.com").email)
    assert client.post(f"/gallery/{image_id}/prompt", data={"hidden": "0"}).status_code == 404


def test_gallery_search_and_pages(client, imported):
    imported([f"castle number {index}" for index in range(26)] + ["a lone tree"])
    first = client.get("/gallery").get_data(as_text=True)
    assert first.count('data-testid="gallery-item"') == 24 and "Page 1 of 2" in first
    second = client.get("/gallery?page=2").get_data(as_text=True)
    assert second.count('data-testid="gallery-item"') == 3
    found = client.get("/gallery?q=TREE").get_data(as_text=True)
    assert found.count('data-testid="gallery-item"') == 1 and "a lone tree" in found
    assert "No shared image matches" in client.get("/gallery?q=dragon").get_data(as_text=True)


def test_gallery_queries_do_not_grow_with_its_images(app, client, user):
    """A gallery page runs the same statements for 2 shared images as for a full page."""
    with app.app_context():
        bulk_images(user.id, 2, public=True)
    few = count_for(app, client, "/gallery")
    with app.app_context():
        bulk_images(user.id, 40, public=True)
    assert count_for(app, client, "/gallery") == few
    page = client.get("/gallery").get_data(as_text=True)
    assert page.count('data-testid="gallery-item"') == 24 and "scale test 36" in page


def test_the_gallery_finds_shared_images_by_index(app, user):
    """Shared images are few among many: the gallery reads them by index, never every image."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    from daydream.services import gallery
    from tests.querycount import sqlite_plans, statements

    with app.app_context():
        bulk_images(user.id, 8, public=True)
        with statements(app) as seen:
            assert len(gallery.public_images(1).images) == 8
        plans = sqlite_plans(app, seen)
    assert plans and all("SCAN image" not in plan and "SCAN task" not in plan
                         for plan in plans), plans


def test_curation_queries_do_not_grow_with_its_images(app, client, auth, staff, make_user):
    """Staff's gallery page names each image's owner: one query for all of them."""
    owners = [make_user(f"owner{n}@example.com") for n in range(6)]
    with app.app_context():
        bulk_images(owners[0].id, 2, public=True)
    auth.login(staff.email)
    few = count_for(app, client, "/admin/gallery")
    with app.app_context():
        for owner in owners[1:]:
            bulk_images(owner.id, 4, public=True)
    assert count_for(app, client, "/admin/gallery") == few
    assert "owner5@example.com" in client.get("/admin/gallery").get_data(as_text=True)
