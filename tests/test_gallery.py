"""The public gallery: owners share, everyone sees, staff prune."""

import pytest

from tests.conftest import SMALL, fetch, wait_for


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
