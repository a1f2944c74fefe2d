"""Generating through /api/v1 with the real worker, then downloading with the key."""

import io
import zipfile

import pytest
from PIL import Image

from daydream.engine.metadata import read_png_parameters
from tests.api.conftest import TINY, bearer
from tests.conftest import fetch, wait_for


@pytest.fixture
def done_task(client, headers, worker):
    """A finished two-image task of the default user."""
    task_id = client.post("/api/v1/tasks", json={**TINY, "samples": 2, "seed": 1234},
                          headers=headers).json["id"]

    def finished():
        response = client.get(f"/api/v1/tasks/{task_id}", headers=headers)
        assert response.status_code == 200, response.json
        return response.json if response.json["state"] not in ("queued", "running") else None

    # Polled at about the key's sustained rate (4 a second), as a polite client would.
    return wait_for(finished, timeout=60, interval=0.25)


def test_download_png_thumbnail_and_zip_with_the_key(client, headers, done_task):
    assert done_task["state"] == "done", done_task["error"]
    assert done_task["progress"] == {"step": 2, "total": 2, "fraction": 1.0}
    assert [image["seed"] for image in done_task["images"]] == [1234, 1235]
    image = done_task["images"][0]
    assert image["url"] == f"/api/v1/images/{image['id']}.png"
    assert image["thumb_url"] == f"/api/v1/images/{image['id']}.thumb.webp"
    assert done_task["zip_url"] == f"/api/v1/tasks/{done_task['id']}.zip"
    assert done_task["position"] is None and done_task["seconds"] > 0
    image = done_task["images"][0]
    png = fetch(client, image["url"], headers=headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    metadata = read_png_parameters(png.data)
    assert metadata["parsed"]["seed"] == 1234 and metadata["parsed"]["prompt"] == TINY["prompt"]
    thumb = fetch(client, image["thumb_url"], headers=headers)
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).format == "WEBP"
    archive = fetch(client, done_task["zip_url"], headers=headers)
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert names == [f"daydream-{done_task['id']}-1-seed1234.png",
                     f"daydream-{done_task['id']}-2-seed1235.png"]


def test_others_get_404_on_my_images_and_zip_but_staff_do_not(client, done_task, make_user,
                                                                make_key, staff):
    other = bearer(make_key(make_user("other@example.com")))
    image = done_task["images"][0]
    for url in (image["url"], image["thumb_url"], done_task["zip_url"]):
        response = fetch(client, url, headers=other)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert fetch(client, image["url"]).status_code == 401, "no key, no image"
    as_staff = bearer(make_key(staff))
    for url in (image["url"], done_task["zip_url"]):
        assert fetch(client, url, headers=as_staff).status_code == 200


def test_unknown_image_is_404(client, headers):
    assert fetch(client, "/api/v1/images/nope.png", headers=headers).status_code == 404


def test_task_without_images_has_no_zip(client, headers):
    task_id = client.post("/api/v1/tasks", json=TINY, headers=headers).json["id"]
    response = fetch(client, f"/api/v1/tasks/{task_id}.zip", headers=headers)
    assert response.status_code == 404 and response.json["error"]["code"] == "no_images"
