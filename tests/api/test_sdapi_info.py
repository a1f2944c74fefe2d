"""A1111's listing endpoints, options and png-info."""

import base64
import io
import time

from PIL import Image as PILImage
from PIL import PngImagePlugin

from daydream.engine.metadata import png_bytes_with_metadata
from daydream.engine.params import SCHEDULERS, GenerationParams


def test_samplers_are_listed_as_a1111_lists_them(client, headers):
    samplers = client.get("/sdapi/v1/samplers", headers=headers).json
    assert [sampler["name"] for sampler in samplers] == list(SCHEDULERS)
    assert all(set(sampler) == {"name", "aliases", "options"} for sampler in samplers)
    euler_a = samplers[0]
    assert euler_a["name"] == "Euler a" and "k_euler_a" in euler_a["aliases"]
    karras = next(s for s in samplers if s["name"] == "DPM++ 2M Karras")
    assert karras["options"] == {"scheduler": "karras"}


def test_listed_aliases_and_schedule_types_are_accepted(client, headers):
    samplers = client.get("/sdapi/v1/samplers", headers=headers).json
    names = [alias for sampler in samplers for alias in sampler["aliases"]]
    schedules = client.get("/sdapi/v1/schedulers", headers=headers).json
    assert {s["name"] for s in schedules} == {"automatic", "karras"}
    assert all(set(s) == {"name", "label", "aliases", "default_rho", "need_inner_model"}
               for s in schedules)
    pairs = [{"sampler_name": name} for name in names] + [
        {"sampler_name": "DPM++ 2M", "scheduler": "Karras"},
        {"sampler_name": "Euler a", "scheduler": "Automatic"}, {"sampler_index": "LMS"}]
    for pair in pairs:
        body = {"prompt": "x", "steps": 1, "width": 64, "height": 64, **pair}
        response = client.post("/sdapi/v1/txt2img", json={**body, "batch_size": 99},
                               headers=headers)
        assert set(response.json["error"]["details"]) == {"batch_size"}, pair  # sampler fine


def test_sd_models_and_options_name_the_model(client, headers):
    models = client.get("/sdapi/v1/sd-models", headers=headers).json
    assert models == [{"title": "daydream-demo", "model_name": "daydream-demo", "hash": None,
                       "sha256": None, "filename": "daydream-demo", "config": None}]
    options = client.get("/sdapi/v1/options", headers=headers).json
    assert options["sd_model_checkpoint"] == "daydream-demo"
    assert options["samples_format"] == "png"


def test_setting_options_is_accepted_and_ignored(client, headers):
    response = client.post("/sdapi/v1/options", headers=headers, json={
        "sd_model_checkpoint": "daydream-demo", "CLIP_stop_at_last_layers": 2})
    assert response.status_code == 200 and response.json is None
    assert response.headers["X-Daydream-Ignored"] == "CLIP_stop_at_last_layers"
    odd = client.post("/sdapi/v1/options", headers=headers, json={"bad\nname": 1})
    assert odd.status_code == 200 and "X-Daydream-Ignored" not in odd.headers
    other = client.post("/sdapi/v1/options", headers=headers,
                        json={"sd_model_checkpoint": "sdxl.safetensors"})
    assert other.status_code == 422 and "this server runs 'daydream-demo'" in (
        other.json["error"]["message"])


def test_empty_lists_for_what_daydream_does_not_have(client, headers):
    for name in ("upscalers", "sd-vae", "loras", "prompt-styles", "hypernetworks"):  # no LORA_DIR
        assert client.get(f"/sdapi/v1/{name}", headers=headers).json == []
    assert client.get("/sdapi/v1/embeddings", headers=headers).json == {"loaded": {},
                                                                        "skipped": {}}
    assert client.get("/sdapi/v1/scripts", headers=headers).json == {"txt2img": [],
                                                                     "img2img": []}


def test_png_info_reads_our_metadata(client, headers):
    params = GenerationParams(prompt="a cat", negative_prompt="dog", width=64, height=64,
                              steps=3, scheduler="Euler", cfg_scale=7.5)
    png = png_bytes_with_metadata(PILImage.new("RGB", (64, 64)), params, 42, "daydream-demo")
    encoded = "data:image/png;base64," + base64.b64encode(png).decode()
    info = client.post("/sdapi/v1/png-info", json={"image": encoded}, headers=headers).json
    assert info["info"].startswith("a cat\nNegative prompt: dog\nSteps: 3, Sampler: Euler")
    assert info["parameters"]["Prompt"] == "a cat" and info["parameters"]["Seed"] == "42"
    assert info["parameters"]["Negative prompt"] == "dog"
    assert info["parameters"]["CFG scale"] == "7.5" and info["parameters"]["Size-1"] == "64"
    assert set(info["items"]) == {"daydream"}


def test_png_info_of_an_a1111_png_and_of_a_plain_image(client, headers):
    meta = PngImagePlugin.PngInfo()
    meta.add_text("parameters", "owl\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, "
                  "CFG scale: 7, Seed: 9, Size: 512x768, Version: v1.10.1")
    meta.add_text("extra", "kept")
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=meta)
    info = client.post("/sdapi/v1/png-info", headers=headers,
                       json={"image": base64.b64encode(buffer.getvalue()).decode()}).json
    assert info["parameters"]["Size-2"] == "768" and info["parameters"]["Version"] == "v1.10.1"
    assert info["items"] == {"extra": "kept"}
    plain = io.BytesIO()
    PILImage.new("RGB", (8, 8)).save(plain, "JPEG")
    empty = client.post("/sdapi/v1/png-info", headers=headers,
                        json={"image": base64.b64encode(plain.getvalue()).decode()}).json
    assert empty == {"info": "", "items": {}, "parameters": {}}


def test_png_info_refuses_what_is_not_an_image(client, headers):
    for body in ({}, {"image": ""}, {"image": 5}, {"image": "%%%"},
                 {"image": base64.b64encode(b"hello").decode()}):
        response = client.post("/sdapi/v1/png-info", json=body, headers=headers)
        assert response.status_code == 422, body


def test_png_info_of_a_64_kb_infotext_answers_at_once(client, headers):
    # The audit's request: 48,000 "a" froze the whole server for 15 s.
    meta = PngImagePlugin.PngInfo()
    meta.add_text("parameters", "a" * 65_000)
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=meta)
    started = time.thread_time()  # CPU time: a busy machine does not make it flaky
    response = client.post("/sdapi/v1/png-info", headers=headers,
                           json={"image": base64.b64encode(buffer.getvalue()).decode()})
    assert time.thread_time() - started < 1.0
    assert response.status_code == 200
    assert response.json["info"] == "a" * 65_000
