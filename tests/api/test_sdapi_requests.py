"""A1111 requests Daydream refuses, clearly and before charging anything (no worker)."""

import base64

import pytest
from sqlalchemy import func, select

from daydream.extensions import db
from daydream.models import Task
from tests.api import a1111
from tests.api.conftest import basic, bearer


def tasks_made(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Task.id)))


@pytest.mark.parametrize(("path", "body", "field", "message"), [
    ("txt2img", {"script_name": "x/y/z plot"}, "script_name", "Script 'x/y/z plot' not found"),
    ("txt2img", {"batch_size": 3, "n_iter": 2}, "batch_size",
     "batch_size × n_iter asks for 6 images; this server makes at most 4"),
    ("txt2img", {"batch_size": 0}, "batch_size", "batch_size must be a whole number of at"),
    ("txt2img", {"n_iter": "lots"}, "n_iter", "n_iter must be a whole number"),
    ("txt2img", {"sampler_name": "Heun"}, "sampler_name", "Sampler 'Heun' not found"),
    ("txt2img", {"sampler_name": "Euler", "scheduler": "Exponential"}, "scheduler",
     "is not available here"),
    ("txt2img", {"prompt": ["a", "b"]}, "prompt", "prompt must be text"),
    ("txt2img", {"width": 100}, "width", "width must be a multiple of 8"),
    ("txt2img", {"steps": 1000}, "steps", "steps must be a whole number between 1 and 100"),
    ("txt2img", {"seed": 2**40}, "seed", "seed must be empty (random) or a whole number"),
    ("txt2img", {"cfg_scale": None, "steps": {"a": 1}}, "steps", "steps must be"),
    ("img2img", {}, "init_images", "init_images must be a list holding at least one"),
    ("img2img", {"init_images": []}, "init_images", "init_images must be a list"),
    ("img2img", {"init_images": ["iVBORw0KGgo"], "mask": 5}, "mask",
     "mask must be a base64 image"),
    ("img2img", {"init_images": ["@@@"]}, "image", "init_images is not valid base64"),
    ("img2img", {"init_images": [base64.b64encode(b"text").decode()]}, "image",
     "not an image we can read"),
])
def test_refused_with_422_naming_the_field(app, client, headers, path, body, field, message):
    make = a1111.img2img if path == "img2img" else a1111.txt2img
    response = client.post(f"/sdapi/v1/{path}", json=make(**{**a1111.SMALL, **body}),
                           headers=headers)
    assert response.status_code == 422, response.json
    assert message in response.json["error"]["details"][field]
    assert tasks_made(app) == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"42", b'{"steps": NaN}'])
def test_malformed_json_is_422(client, headers, raw):
    response = client.post("/sdapi/v1/txt2img", data=raw, headers={
        **headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_json"


def test_not_enough_credits_is_402(app, client, make_user, make_key):
    poor = bearer(make_key(make_user("poor@example.com", credits=0)))
    response = client.post("/sdapi/v1/txt2img", json=a1111.txt2img(**a1111.SMALL), headers=poor)
    assert response.status_code == 402 and tasks_made(app) == 0


def test_needs_a_key_like_api_auth(client):
    response = client.post("/sdapi/v1/txt2img", json=a1111.txt2img(**a1111.SMALL))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="daydream"'
    wrong = client.get("/sdapi/v1/progress", headers=basic("dd_wrong"))
    assert wrong.status_code == 401
