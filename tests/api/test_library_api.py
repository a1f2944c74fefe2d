"""The library through the API: list with filters and a cursor, favourite, ZIP, delete."""

from __future__ import annotations

import io
import zipfile

from daydream.extensions import db
from daydream.models import Image


def test_lists_every_image_newest_first_with_a_cursor(client, user, headers, make_images):
    made = make_images(user, 3) + make_images(user, 2, prompt="second task")
    first = client.get("/api/v1/library?limit=3", headers=headers).json
    assert [i["id"] for i in first["images"]] == list(reversed(made))[:3]
    assert first["total"] == 5 and first["next_cursor"]
    rest = client.get(f"/api/v1/library?limit=3&before={first['next_cursor']}",
                      headers=headers).json
    assert [i["id"] for i in rest["images"]] == list(reversed(made))[3:]
    assert rest["next_cursor"] is None
    image = first["images"][0]
    assert image["prompt"] == "second task" and image["url"] == f"/api/v1/images/{image['id']}.png"
    assert image["favourite"] is False and image["model"] == "demo"


def test_filters_and_their_errors(client, user, headers, make_images):
    make_images(user, prompt="a red fox")
    (wide,) = make_images(user, prompt="a wide fox", width=128, height=64, mode="img2img")
    found = client.get("/api/v1/library?q=WIDE&size=128x64&mode=img2img", headers=headers).json
    assert [i["id"] for i in found["images"]] == [wide]
    bad = client.get("/api/v1/library?size=big&from=2026-02-31", headers=headers)
    assert bad.status_code == 400 and set(bad.json["error"]["details"]) == {"size"}
    bad_date = client.get("/api/v1/library?from=2026-02-31", headers=headers)
    assert bad_date.status_code == 400 and "from" in bad_date.json["error"]["details"]


def test_a_cursor_beyond_any_image_id_is_a_clear_400(client, user, headers, make_images):
    make_images(user)
    huge = client.get("/api/v1/library?before=6402373705727999", headers=headers)
    assert huge.status_code == 400 and "before" in huge.json["error"]["details"]
    largest = client.get(f"/api/v1/library?before={2**31 - 1}", headers=headers)
    assert largest.status_code == 200 and len(largest.json["images"]) == 1


def test_favourite(client, user, headers, make_images):
    (image,) = make_images(user)
    answer = client.post(f"/api/v1/images/{image}/favourite", json={"favourite": True},
                         headers=headers)
    assert answer.status_code == 200 and answer.json["favourite"] is True
    listed = client.get("/api/v1/library?favourites=1", headers=headers).json["images"]
    assert [i["id"] for i in listed] == [image]
    wrong = client.post(f"/api/v1/images/{image}/favourite", json={"favourite": "yes"},
                        headers=headers)
    assert wrong.status_code == 400 and "favourite" in wrong.json["error"]["details"]


def test_zip_and_delete_several(app, client, user, make_user, headers, make_images):
    a, b = make_images(user, 2)
    (theirs,) = make_images(make_user("them@example.com"))
    archive = client.post("/api/v1/library/zip", json={"ids": [a, b, theirs]}, headers=headers)
    assert archive.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(archive.get_data())).namelist()) == 2
    only_theirs = client.post("/api/v1/library/zip", json={"ids": [theirs]}, headers=headers)
    assert only_theirs.status_code == 404 and only_theirs.json["error"]["code"] == "no_images"
    deleted = client.post("/api/v1/library/delete", json={"ids": [a, theirs]}, headers=headers)
    assert deleted.json == {"deleted": 1}
    assert client.delete(f"/api/v1/images/{b}", headers=headers).json == {"deleted": 1}
    assert client.delete(f"/api/v1/images/{b}", headers=headers).status_code == 404
    with app.app_context():
        assert list(db.session.scalars(db.select(Image.uuid))) == [theirs]


def test_needs_a_key(client):
    assert client.get("/api/v1/library").status_code == 401
