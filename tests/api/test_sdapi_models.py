"""A1111's model endpoints over the library: /sd-models, /loras, checkpoint choices, LoRA tags."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.test_models_library import CLIP, UNET_IN, write_diffusers_folder, write_safetensors

BODY = {"prompt": "a fox", "steps": 1, "width": 64, "height": 64}


@pytest.fixture
def app_settings(app_settings: dict, tmp_path: Path) -> dict:
    """A library of three models (one disabled), ``photon`` served, and one LoRA."""
    models = tmp_path / "models"
    models.mkdir()
    write_safetensors(models / "dreamshaper-8.safetensors",
                      {UNET_IN: (320, 4, 3, 3), CLIP: (49408, 768)}, b"weights")
    write_safetensors(models / "retired.safetensors", {UNET_IN: (320, 4, 3, 3), CLIP: (49408, 768)})
    write_diffusers_folder(models / "photon", "StableDiffusionPipeline", 768)
    (models / "models.toml").write_text('[models.retired]\nenabled = false\n'
                                        '[models.photon]\ntitle = "Photon"\n')
    loras = tmp_path / "loras"
    loras.mkdir()
    (loras / "sparkle.safetensors").write_bytes(b"lora")
    app_settings.update(MODELS_DIR=str(models), LORA_DIR=str(loras), MODEL="photon")
    return app_settings


def short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]


def test_sd_models_lists_the_enabled_library_with_a1111_titles(client, headers, tmp_path):
    models = client.get("/sdapi/v1/sd-models", headers=headers).json
    assert [m["model_name"] for m in models] == ["photon", "dreamshaper-8"]  # default first
    assert models[0]["title"] == f"photon [{short(b'photon')}]"
    assert models[1]["hash"] == short((tmp_path / "models/dreamshaper-8.safetensors").read_bytes())
    options = client.get("/sdapi/v1/options", headers=headers).json
    assert options["sd_model_checkpoint"] == models[0]["title"]
    assert options["sd_checkpoint_hash"] == short(b"photon")


def test_loras_lists_the_lora_folder(client, headers, tmp_path):
    assert client.get("/sdapi/v1/loras", headers=headers).json == [
        {"name": "sparkle", "alias": "sparkle", "path": str(tmp_path / "loras/sparkle.safetensors"),
         "metadata": {}}]


@pytest.mark.parametrize(("wanted", "reason"), [
    ("nope.safetensors", "'nope.safetensors' is not in this server's library"),
    ("retired", "'retired' is disabled"),
])
def test_override_checkpoint_is_refused_with_its_name(client, headers, wanted, reason):
    body = {**BODY, "override_settings": {"sd_model_checkpoint": wanted}}
    response = client.post("/sdapi/v1/txt2img", json=body, headers=headers)
    assert response.status_code == 422 and reason in response.json["error"]["message"]
    assert list(response.json["error"]["details"]) == ["override_settings.sd_model_checkpoint"]
    options = client.post("/sdapi/v1/options", json={"sd_model_checkpoint": wanted},
                          headers=headers)
    assert options.status_code == 422 and reason in options.json["error"]["message"]


def test_any_enabled_library_model_is_accepted_by_name_title_or_hash(client, headers):
    for wanted in ("photon", f"photon [{short(b'photon')}]", short(b"photon"), "dreamshaper-8"):
        body = {**BODY, "batch_size": 99, "override_settings": {"sd_model_checkpoint": wanted}}
        response = client.post("/sdapi/v1/txt2img", json=body, headers=headers)
        assert set(response.json["error"]["details"]) == {"batch_size"}, wanted  # model fine
        assert client.post("/sdapi/v1/options", json={"sd_model_checkpoint": wanted},
                           headers=headers).status_code == 200


def test_unknown_lora_in_the_prompt_is_refused_before_anything_is_charged(client, headers):
    before = credits(client, headers)
    response = client.post("/sdapi/v1/txt2img", headers=headers,
                           json={**BODY, "prompt": "a fox <lora:glitter:0.7>"})
    assert response.status_code == 422
    assert "LoRA 'glitter' is not installed" in response.json["error"]["message"]
    known = client.post("/sdapi/v1/txt2img", headers=headers,
                        json={**BODY, "batch_size": 99, "prompt": "a fox <lora:sparkle:0.7>"})
    assert set(known.json["error"]["details"]) == {"batch_size"}
    assert credits(client, headers) == before


def credits(client, headers) -> int:
    return client.get("/api/v1/account", headers=headers).json["credits"]


def test_native_api_model_field_picks_from_the_library(client, headers):
    before = credits(client, headers)
    for wanted, reason in (("nope", "'nope' is not in this server's library"),
                           ("retired", "'retired' is disabled")):
        response = client.post("/api/v1/tasks", headers=headers,
                               json={**BODY, "model": wanted})
        assert response.status_code == 422 and reason in response.json["error"]["message"]
        assert list(response.json["error"]["details"]) == ["model"]
    lora = client.post("/api/v1/tasks", headers=headers,
                       json={**BODY, "prompt": "a fox <lora:glitter>"})
    # The native API answers bad parameters with 400, as for any other field.
    assert lora.status_code == 400 and "'glitter' is not installed" in lora.text
    assert credits(client, headers) == before
    accepted = client.post("/api/v1/tasks", headers=headers, json={**BODY, "model": "photon"})
    assert accepted.status_code == 202 and credits(client, headers) < before
    assert accepted.json["model"] == "photon"
    # Not the default, and no worker holds it yet: a worker loads it when the task's turn comes.
    other = client.post("/api/v1/tasks", headers=headers, json={**BODY, "model": "dreamshaper-8"})
    assert other.status_code == 202 and other.json["model"] == "dreamshaper-8"
    default = client.post("/api/v1/tasks", headers=headers, json=BODY)
    assert default.json["model"] == "photon"
