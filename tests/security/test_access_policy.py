"""One access policy (services/access.py): media follows the gallery's rules everywhere."""

from __future__ import annotations

from tests.conftest import fetch


def test_an_image_of_a_disabled_user_is_no_longer_public(client, user, make_image, disable):
    made = make_image(user, public=True)
    assert fetch(client, f"/media/{made.image}.png").status_code == 200
    disable(user)
    assert fetch(client, f"/media/{made.image}.png").status_code == 404
    assert fetch(client, f"/media/{made.image}.thumb.webp").status_code == 404
    assert made.image not in client.get("/gallery").get_data(as_text=True)


def test_staff_still_see_an_image_of_a_disabled_user(client, auth, user, staff, make_image,
                                                      disable):
    made = make_image(user, public=True)
    disable(user)
    auth.login(staff.email)
    assert fetch(client, f"/media/{made.image}.png").status_code == 200


def test_a_shared_nsfw_image_is_not_public(client, auth, user, make_image):
    made = make_image(user, public=True, nsfw=True)
    assert fetch(client, f"/media/{made.image}.png").status_code == 404
    auth.login(user.email)
    assert fetch(client, f"/media/{made.image}.png").status_code == 200  # the owner still may


def test_a_disabled_users_image_cannot_start_a_variant(client, auth, user, make_user, make_image,
                                                       disable):
    made = make_image(user, public=True)
    disable(user)
    auth.login(make_user("other@example.com").email)
    response = client.post("/studio/tasks", data={
        "prompt": "a variant", "width": "64", "height": "64", "steps": "2", "cfg_scale": "7",
        "samples": "1", "scheduler": "Euler", "strength": "0.5", "init_from": made.image})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_image"


def test_only_the_owner_shares_even_a_public_image(client, auth, user, make_user, make_image):
    made = make_image(user, public=True)
    auth.login(make_user("other@example.com").email)
    assert client.post(f"/studio/images/{made.image}/share", data={"shared": "0"}
                       ).status_code == 404
    assert fetch(client, f"/media/{made.image}.png").status_code == 200


def test_private_media_is_never_stored_and_public_media_is_cacheable(client, auth, user,
                                                                      make_image):
    private = make_image(user)
    shared = make_image(user, public=True)
    auth.login(user.email)
    for suffix in (".png", ".thumb.webp"):
        mine = fetch(client, f"/media/{private.image}{suffix}").headers["Cache-Control"]
        assert "private" in mine and "no-store" in mine and "public" not in mine
        public = fetch(client, f"/media/{shared.image}{suffix}").headers["Cache-Control"]
        assert "public" in public and "max-age=3600" in public and "no-store" not in public


def test_api_images_and_zips_are_never_stored(client, auth, user, make_image, api_headers):
    made = make_image(user, public=True)
    headers = api_headers(user)
    for url in (f"/api/v1/images/{made.image}.png", f"/api/v1/images/{made.image}.thumb.webp",
                f"/api/v1/tasks/{made.task}.zip"):
        response = fetch(client, url, headers=headers)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url
    auth.login(user.email)
    response = fetch(client, f"/studio/tasks/{made.task}.zip")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
