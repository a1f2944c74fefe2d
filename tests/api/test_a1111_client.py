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
