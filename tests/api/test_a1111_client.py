"""An existing A1111 client, unchanged: the ``webuiapi`` package against a live server."""

import webuiapi
from PIL import Image as PILImage


def test_webuiapi_generates_and_reads_back(live_server, user, make_key, worker):
    host, port = live_server
    api = webuiapi.WebUIApi(host=host, port=port, username="me", password=make_key(user))
    assert api.util_get_model_names() == ["daydream-demo"]
    assert api.util_get_current_model() == "daydream-demo"
    assert "DPM++ 2M Karras" in api.util_get_sampler_names()
    assert "karras" in api.util_get_scheduler_names()

    result = api.txt2img(prompt="a lighthouse", negative_prompt="fog", width=64, height=64,
                         steps=2, seed=42, batch_size=2, cfg_scale=6)
    assert [image.size for image in result.images] == [(64, 64), (64, 64)]
    assert result.info["all_seeds"] == [42, 43] and result.info["sampler_name"] == "Euler a"
    assert result.parameters["prompt"] == "a lighthouse"

    read = api.png_info(result.image)
    assert read.info.startswith("a lighthouse\nNegative prompt: fog\nSteps: 2")
    assert read.parameters["Seed"] == "42"

    varied = api.img2img(images=[PILImage.new("RGB", (80, 96), "teal")], prompt="a boat",
                         width=64, height=64, steps=4, denoising_strength=0.5, seed=7)
    assert varied.image.size == (64, 64) and varied.info["all_seeds"] == [7]
    assert varied.info["denoising_strength"] == 0.5
    assert "Denoising strength: 0.5" in varied.info["infotexts"][0]
    assert varied.parameters["init_images"] is None, "as A1111 without include_init_images"

    assert api.get_progress()["state"]["job_count"] == 0
    assert api.interrupt() == {}


def test_wrong_password_is_refused(live_server, user):
    host, port = live_server
    api = webuiapi.WebUIApi(host=host, port=port, username="me", password="dd_wrong")
    try:
        api.txt2img(prompt="x", width=64, height=64, steps=1)
    except RuntimeError as error:
        assert error.args[0] == 401
    else:
        raise AssertionError("a wrong key must not generate")


def test_webuiapi_inpainting_and_hires_fix(live_server, user, make_key, worker):
    import numpy as np

    host, port = live_server
    api = webuiapi.WebUIApi(host=host, port=port, username="me", password=make_key(user))
    rng = np.random.default_rng(3)
    start = PILImage.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    mask = PILImage.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    painted = api.img2img(images=[start], mask_image=mask, mask_blur=0, inpainting_fill=1,
                          inpaint_full_res=False, prompt="a red door", width=64, height=64,
                          steps=4, denoising_strength=1.0, seed=3)
    out = np.asarray(painted.image.convert("RGB"), dtype=np.int16)
    keep = np.asarray(mask) == 0
    assert np.abs(out[keep] - np.asarray(start, dtype=np.int16)[keep]).max() <= 1
    assert np.abs(out[~keep] - np.asarray(start, dtype=np.int16)[~keep]).mean() > 10
    assert painted.info["is_using_inpainting_conditioning"] is True
    assert "Mask blur: 0" in painted.info["infotexts"][0]

    hires = api.txt2img(prompt="a castle", width=64, height=64, steps=4, seed=9,
                        enable_hr=True, hr_scale=2, hr_upscaler=webuiapi.HiResUpscaler.Lanczos,
                        hr_second_pass_steps=4, denoising_strength=0.5)
    assert hires.image.size == (128, 128)
    assert hires.info["enable_hr"] is True and hires.info["all_seeds"] == [9]
    assert "Hires upscale: 2, Hires steps: 4, Hires upscaler: Lanczos" in hires.info["infotexts"][0]
