"""A1111's txt2img and img2img, sent exactly as A1111 clients send them, on the real worker."""

import base64
import io
import json

from PIL import Image as PILImage
from sqlalchemy import select

from daydream.engine.metadata import parse_parameters
from daydream.extensions import db
from daydream.models import Task, User
from tests.api import a1111
from tests.api.conftest import basic


def decode_png(encoded: str) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(base64.b64decode(encoded)))
    image.load()
    return image


def test_txt2img_answers_like_a1111_with_real_seeds(app, client, user, make_key, worker):
    body = a1111.txt2img(**a1111.SMALL, seed=77, batch_size=2, sampler_name="Euler a",
                         negative_prompt="fog")
    response = client.post("/sdapi/v1/txt2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 200, response.json
    answer = response.json
    assert set(answer) == {"images", "parameters", "info"}
    images = [decode_png(encoded) for encoded in answer["images"]]
    assert [image.size for image in images] == [(64, 64), (64, 64)]
    assert [parse_parameters(image.info["parameters"])["seed"] for image in images] == [77, 78]
    info = json.loads(answer["info"])
    assert info["seed"] == 77 and info["all_seeds"] == [77, 78]
    assert info["prompt"] == "a red fox in snow" and info["all_prompts"] == [info["prompt"]] * 2
    assert info["negative_prompt"] == "fog" and info["all_negative_prompts"] == ["fog", "fog"]
    assert (info["width"], info["height"], info["steps"]) == (64, 64, 2)
    assert info["sampler_name"] == "Euler a" and info["cfg_scale"] == 7.0
    assert info["sd_model_name"] == "daydream-demo" and info["index_of_first_image"] == 0
    assert info["infotexts"] == [image.info["parameters"] for image in images]
    assert "Seed: 78" in info["infotexts"][1]
    assert answer["parameters"] == body, "parameters echo the request with A1111's defaults"
    assert "X-Daydream-Ignored" not in response.headers
    with app.app_context():
        task = db.session.scalar(select(Task))
        assert task.source == "api" and task.samples == 2
        assert db.session.get(User, user.id).credits == 500 - task.cost


def test_minimal_body_random_seed_and_ignored_features(client, user, make_key, worker):
    response = client.post("/sdapi/v1/txt2img", headers=basic(make_key(user)), json={
        **a1111.SMALL, "tiling": True, "restore_faces": True,
        "send_images": False, "some_forge_field": 3})
    assert response.status_code == 200
    assert response.json["images"] == [], "send_images: false"
    assert response.headers["X-Daydream-Ignored"] == "restore_faces, tiling"
    assert response.json["parameters"]["tiling"] is True
    info = json.loads(response.json["info"])
    assert len(info["all_seeds"]) == 1 and 0 <= info["seed"] <= 2**32 - 1, "a real seed"
    assert info["sampler_name"] == "Euler", "A1111's default sampler_index"


def test_n_iter_times_batch_size_images(client, user, make_key, worker):
    body = a1111.txt2img(**a1111.SMALL, batch_size=1, n_iter=3, seed=10)
    answer = client.post("/sdapi/v1/txt2img", json=body, headers=basic(make_key(user))).json
    assert len(answer["images"]) == 3
    assert json.loads(answer["info"])["all_seeds"] == [10, 11, 12]
