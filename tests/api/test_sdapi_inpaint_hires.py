"""A1111's inpainting and hires fix, with bodies exactly as A1111's API models send them
(tests/api/a1111.py), on the real worker."""

import base64
import io
import json

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, User
from tests.api import a1111
from tests.api.conftest import basic


def b64(image: PILImage.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode(encoded: str) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB"),
                      dtype=np.int16)


START = PILImage.fromarray(np.random.default_rng(11).integers(0, 256, (64, 64, 3),
                                                              dtype=np.uint8))
MASK = PILImage.new("L", (64, 64), 0)
MASK.paste(255, (8, 8, 40, 40))


def only_task(app) -> Task:
    with app.app_context():
        task = db.session.scalar(select(Task))
        db.session.expunge(task)
        return task


def test_inpainting_keeps_what_is_outside_the_mask(app, client, user, make_key, worker):
    body = a1111.img2img(**a1111.SMALL, init_images=[b64(START)], mask=b64(MASK),
                         mask_blur=0, inpainting_fill=1, inpaint_full_res=False,
                         denoising_strength=1.0, seed=5)
    response = client.post("/sdapi/v1/img2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 200, response.json
    out, original = decode(response.json["images"][0]), np.asarray(START, dtype=np.int16)
    keep = np.asarray(MASK) == 0
    assert np.abs(out[keep] - original[keep]).max() <= 1
    assert np.abs(out[~keep] - original[~keep]).mean() > 10
    task = only_task(app)
    assert task.mode == "inpaint" and task.mask and task.inpainting_fill == "original"
    info = json.loads(response.json["info"])
    assert info["is_using_inpainting_conditioning"] is True
    assert "Mask blur: 0" in info["infotexts"][0]


def test_a1111_defaults_and_an_inverted_mask(app, client, user, make_key, worker):
    body = a1111.img2img(**a1111.SMALL, init_images=[b64(START)], mask=b64(MASK),
                         inpainting_mask_invert=1, mask_blur_x=0, denoising_strength=1.0)
    response = client.post("/sdapi/v1/img2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 200, response.json
    out, original = decode(response.json["images"][0]), np.asarray(START, dtype=np.int16)
    inside = np.asarray(MASK) > 0  # inverted: the square is now what is kept
    assert np.abs(out[inside] - original[inside]).max() <= 1
    task = only_task(app)
    # A1111's own defaults: inpainting_fill 0 = fill, inpaint_full_res true, padding 0.
    assert (task.inpainting_fill, task.inpaint_full_res, task.inpaint_full_res_padding,
            task.mask_blur) == ("fill", True, 0, 0)


def test_an_empty_mask_is_refused_before_charging(app, client, user, make_key):
    body = a1111.img2img(**a1111.SMALL, init_images=[b64(START)],
                         mask=b64(PILImage.new("L", (64, 64), 0)))
    response = client.post("/sdapi/v1/img2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 422
    assert "mask is empty" in response.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_hires_fix_two_passes_priced_and_counted(app, client, user, make_key, worker):
    body = a1111.txt2img(**a1111.SMALL, enable_hr=True, hr_scale=2,
                         hr_upscaler="Latent (bicubic antialiased)", hr_second_pass_steps=4,
                         denoising_strength=0.5, seed=21)
    response = client.post("/sdapi/v1/txt2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 200, response.json
    assert "X-Daydream-Ignored" not in response.headers
    assert decode(response.json["images"][0]).shape == (128, 128, 3)
    task = only_task(app)
    assert task.enable_hr and task.hr_upscaler == "Latent" and task.strength == 0.5
    # 2 first-pass steps at 64x64, int(4 × 0.5) = 2 at 128x128, in one progress count.
    assert (task.progress_step, task.progress_total) == (4, 4)
    pixel_steps = 64 * 64 * 2 + 128 * 128 * 2
    assert task.cost == -(-pixel_steps // app.config["CREDIT_PIXEL_STEPS"])
    with app.app_context():
        assert db.session.get(User, user.id).credits == 500 - task.cost
    info = json.loads(response.json["info"])
    assert "Hires upscale: 2, Hires steps: 4, Hires upscaler: Latent" in info["infotexts"][0]


def test_hires_beyond_the_limits_is_refused(client, user, make_key):
    body = a1111.txt2img(**{**a1111.SMALL, "width": 512, "height": 512}, enable_hr=True,
                         hr_scale=2)
    response = client.post("/sdapi/v1/txt2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 422
    assert "hires pass would be 1024x1024" in response.json["error"]["details"]["hr_scale"]
