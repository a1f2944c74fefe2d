"""The library: every image across sessions, filters, favourites, selection, lightbox page."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile

import pytest

from daydream.extensions import db
from daydream.models import Image, Task
from daydream.services import library, storage
from tests.library_factories import bulk_images
from tests.querycount import count_for


def items(page: str) -> list[str]:
    """The image ids of the library grid, in page order."""
    return re.findall(r'data-testid="library-item" data-image="([^"]+)"', page)


def test_library_needs_login(client):
    response = client.get("/library/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_empty_library(client, auth, user):
    auth.login(user.email)
    page = client.get("/library/").get_data(as_text=True)
    assert 'data-testid="library-empty"' in page and "0 in all" in page


def test_images_of_every_session_survive_logout_and_login(client, auth, user, make_images):
    earlier = make_images(user, 2, prompt="an earlier session", sessionid="an-older-session")
    current = make_images(user, 1, prompt="this session")
    auth.login(user.email)
    auth.logout()
    auth.login(user.email)
    studio = client.get("/studio/").get_data(as_text=True)
    assert "an earlier session" not in studio  # the studio shows only its own session
    page = client.get("/library/").get_data(as_text=True)
    assert items(page) == current + list(reversed(earlier)) and "3 in all" in page


def test_newest_first_and_other_people_left_out(client, auth, user, make_user, make_images):
    older = make_images(user, prompt="older")
    newer = make_images(user, prompt="newer")
    make_images(make_user("other@example.com"), prompt="not mine")
    auth.login(user.email)
    page = client.get("/library/").get_data(as_text=True)
    assert items(page) == newer + older and "not mine" not in page


@pytest.mark.parametrize(("query", "expected"), [
    ({"q": "LIGHTHOUSE"}, "lighthouse"),
    ({"q": "100%"}, "percent"),
    ({"mode": "img2img"}, "variant"),
    ({"model": "other-model"}, "other"),
    ({"size": "128x64"}, "wide"),
])
def test_filters(client, auth, user, make_images, query, expected):
    made = {
        "lighthouse": make_images(user, prompt="a lighthouse at dawn"),
        "percent": make_images(user, prompt="100% cotton"),
        "variant": make_images(user, prompt="a variant", mode="img2img"),
        "other": make_images(user, prompt="from another model", model="other-model"),
        "wide": make_images(user, prompt="wide", width=128, height=64),
        "plain": make_images(user, prompt="plain 100 cotton"),
    }
    auth.login(user.email)
    page = client.get("/library/", query_string=query).get_data(as_text=True)
    assert items(page) == made[expected]


def test_date_filter(app, client, auth, user, make_images):
    old = make_images(user, prompt="last year")
    new = make_images(user, prompt="today")
    with app.app_context():
        image = db.session.scalar(db.select(Image).where(Image.uuid == old[0]))
        image.created_at = image.created_at.replace(year=2020)
        db.session.commit()
    auth.login(user.email)
    assert items(client.get("/library/?from=2021-01-01").get_data(as_text=True)) == new
    assert items(client.get("/library/?to=2020-12-31").get_data(as_text=True)) == old


def test_bad_filters_get_a_clear_400(client, auth, user):
    auth.login(user.email)
    response = client.get("/library/?size=huge&from=yesterday")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "size must look like 512x512" in text and "from must be a date" in text
    assert client.get("/library/?before=abc").status_code == 400
    assert client.get("/library/?before=6402373705727999").status_code == 400


def test_pages_by_cursor_without_gaps_or_repeats(client, auth, user, make_images):
    made = []
    for _ in range(15):
        made += make_images(user, 4)
    auth.login(user.email)
    first = client.get("/library/").get_data(as_text=True)
    more = re.search(r'href="([^"]+)" class="[^"]*" data-testid="library-more"', first)
    second = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(items(first)) == library.PAGE_SIZE
    assert items(first) + items(second) == list(reversed(made))
    assert 'data-testid="library-more"' not in second


def test_favourite_toggles_and_filters(client, auth, user, make_images):
    liked, other = make_images(user, 2)
    auth.login(user.email)
    response = client.post(f"/library/images/{liked}/favourite", data={"favourite": "1"})
    assert response.status_code == 303
    assert items(client.get("/library/?favourites=1").get_data(as_text=True)) == [liked]
    answer = client.post(f"/library/images/{liked}/favourite", data={"favourite": "0"},
                         headers={"Accept": "application/json"})
    assert answer.json["favourite"] is False and answer.json["id"] == liked
    assert 'data-testid="library-empty"' in client.get("/library/?favourites=1").get_data(
        as_text=True)


def test_someone_elses_image_is_not_found(client, auth, user, make_user, make_images):
    (theirs,) = make_images(make_user("owner@example.com"))
    auth.login(user.email)
    assert client.get(f"/library/images/{theirs}").status_code == 404
    assert client.post(f"/library/images/{theirs}/favourite").status_code == 404
    assert client.post(f"/library/images/{theirs}/delete").status_code == 404
    assert client.post(f"/library/images/{theirs}/share").status_code == 404
    response = client.post("/library/selection", data={"action": "delete", "image": [theirs]})
    assert response.status_code == 303
    auth.logout()
    auth.login("owner@example.com")
    assert items(client.get("/library/").get_data(as_text=True)) == [theirs]


def test_selection_downloads_a_zip(client, auth, user, make_images):
    a, b, c = make_images(user, 3)
    auth.login(user.email)
    response = client.post("/library/selection", data={"action": "zip", "image": [a, c]})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.get_data())).namelist()
    assert len(names) == 2 and all(name.endswith(".png") for name in names)
    assert {n.split("-")[-1] for n in names} == {"seed100.png", "seed102.png"}


def test_selection_deletes_files_and_rows(app, client, auth, user, make_images):
    keep, gone_a, gone_b = make_images(user, 3)
    (alone,) = make_images(user, prompt="only image of its task")
    with app.app_context():
        paths = {i.uuid: storage.absolute(i.path) for i in db.session.scalars(db.select(Image))}
    auth.login(user.email)
    response = client.post("/library/selection", data={
        "action": "delete", "image": [gone_a, gone_b, alone], "next": "/library/?q=test"})
    assert response.status_code == 303 and response.location.endswith("/library/?q=test")
    assert "Deleted 3 images." in client.get("/library/").get_data(as_text=True)
    assert items(client.get("/library/").get_data(as_text=True)) == [keep]
    assert paths[keep].exists()
    assert not any(paths[u].exists() for u in (gone_a, gone_b, alone))
    with app.app_context():
        prompts = set(db.session.scalars(db.select(Task.prompt)))
    assert prompts == {"a test"}  # the task whose only image went is gone too


def test_selection_needs_a_tick(client, auth, user, make_images):
    make_images(user)
    auth.login(user.email)
    client.post("/library/selection", data={"action": "zip"})
    assert "Tick at least one image first." in client.get("/library/").get_data(as_text=True)


def test_image_page_shows_settings_and_neighbours(client, auth, user, make_images):
    older, middle, newer = (make_images(user, prompt=p)[0] for p in ("one", "two", "three"))
    auth.login(user.email)
    page = client.get(f"/library/images/{middle}").get_data(as_text=True)
    assert 'data-testid="image-seed">100<' in page and "two" in page and "64×64" in page
    assert f"/library/images/{newer}" in page and f"/library/images/{older}" in page
    filtered = client.get(f"/library/images/{middle}?q=tw").get_data(as_text=True)
    assert f"/library/images/{newer}" not in filtered


def test_grid_carries_lightbox_data(client, auth, user, make_images):
    (image,) = make_images(user, prompt="lightbox <b>data</b>", width=128, height=64)
    auth.login(user.email)
    page = client.get("/library/").get_data(as_text=True)
    blob = re.search(r'<script type="application/json" class="item-data">(.*?)</script>', page)
    data = json.loads(blob.group(1))
    assert data["id"] == image and data["prompt"] == "lightbox <b>data</b>"
    assert (data["width"], data["height"], data["seed"]) == (128, 64, 100)
    assert "<b>" not in blob.group(1)  # escaped inside the script element
    assert 'width="128" height="64"' in page  # thumbnails keep their aspect ratio


def test_reuse_and_variant_links_fill_the_studio(client, auth, user, make_user, make_images):
    (image,) = make_images(user, prompt="hand me over")
    (theirs,) = make_images(make_user("else@example.com"))
    auth.login(user.email)
    page = client.get(f"/studio/?variant={image}").get_data(as_text=True)
    handoff = json.loads(re.search(r'id="handoff">(.*?)</script>', page).group(1))
    assert handoff["image"] == image and handoff["settings"]["prompt"] == "hand me over"
    assert 'id="handoff"' not in client.get(f"/studio/?variant={theirs}").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_ten_thousand_images_open_fast(app, client, auth, user):
    with app.app_context():
        bulk_images(user.id, 10_000)
    auth.login(user.email)
    client.get("/library/")  # warm the connection and template cache
    timings = {}
    started = time.perf_counter()
    first = client.get("/library/").get_data(as_text=True)
    timings["first page"] = time.perf_counter() - started
    with app.app_context():
        deep_cursor = db.session.scalar(db.select(Image.id).order_by(Image.id).offset(100))
    started = time.perf_counter()
    deep = client.get(f"/library/?before={deep_cursor}").get_data(as_text=True)
    timings["page near the end"] = time.perf_counter() - started
    started = time.perf_counter()
    searched = client.get("/library/?q=scale+test+99").get_data(as_text=True)
    timings["search"] = time.perf_counter() - started
    print("library with 10,000 images:", {k: f"{v * 1000:.0f} ms" for k, v in timings.items()})
    assert "10000 in all" in first and len(items(first)) == library.PAGE_SIZE
    assert len(items(deep)) == library.PAGE_SIZE and items(searched)
    assert max(timings.values()) < 1.5, timings


def test_library_queries_do_not_grow_with_its_images(app, client, auth, user):
    """The grid and its API run the same statements for 4 images as for 48 (no N+1)."""
    from daydream.models import User
    from daydream.services import apikeys

    with app.app_context():
        key = apikeys.create_key(db.session.get(User, user.id), "script")[1]
    headers = {"Authorization": f"Bearer {key}"}
    auth.login(user.email)
    with app.app_context():
        bulk_images(user.id, 4)
    few = (count_for(app, client, "/library/"),
           count_for(app, client, "/api/v1/library?limit=48", headers=headers))
    with app.app_context():
        bulk_images(user.id, 44)
    many = (count_for(app, client, "/library/"),
            count_for(app, client, "/api/v1/library?limit=48", headers=headers))
    assert many == few, f"statements with 4 images: {few}, with 48: {many}"
    assert len(client.get("/api/v1/library?limit=48", headers=headers).json["images"]) == 48


def test_a_library_page_reads_only_its_own_rows(app, user, make_user):
    """A page, the count and the size menu read the person's images by index: no scan of
    everybody's images and no sort of all of theirs (the cost of a page does not grow with
    the database)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    from daydream.models import User
    from tests.querycount import sqlite_plans, statements

    other = make_user("other@example.com")
    with app.app_context():
        bulk_images(user.id, 8)
        bulk_images(other.id, 8)
        person = db.session.get(User, user.id)
        with statements(app) as seen:
            assert len(library.page(person).images) == 8 and library.count(person) == 8
            library.choices(person)
        plans = sqlite_plans(app, seen)
    page, count = plans[0], plans[1]
    assert "ix_image_user_id_id" in page and "TEMP B-TREE" not in page, page
    assert "ix_image_user_id_id" in count, count
    assert all("SCAN image" not in plan for plan in plans), plans


def test_an_image_whose_file_is_gone_is_a_404_not_a_server_error(app, client, auth, user,
                                                                 make_images):
    (image,) = make_images(user)
    auth.login(user.email)
    with app.app_context():
        row = db.session.scalar(db.select(Image).where(Image.uuid == image))
        storage.absolute(row.path).unlink()
        storage.absolute(row.thumb_path).unlink()
    for url in (f"/media/{image}.png", f"/media/{image}.thumb.webp"):
        gone = client.get(url)
        assert gone.status_code == 404 and "missing" in gone.get_data(as_text=True)
