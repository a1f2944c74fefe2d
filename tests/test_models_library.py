"""The model library: scanning a models folder, families, A1111 hashes, models.toml (no torch)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from daydream.engine.hashing import short_hash
from daydream.engine.metadata import format_parameters, parse_parameters
from daydream.engine.params import GenerationParams
from daydream.services.models import LibraryError, scan_library

UNET_IN = "model.diffusion_model.input_blocks.0.0.weight"
CLIP = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
OPENCLIP = "cond_stage_model.model.token_embedding.weight"
SDXL = "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias"


def write_safetensors(path: Path, shapes: dict[str, tuple[int, ...]], payload: bytes = b"") -> Path:
    """A .safetensors file whose header declares ``shapes`` (the scan reads only the header)."""
    header = {key: {"dtype": "F16", "shape": list(shape), "data_offsets": [0, 0]}
              for key, shape in shapes.items()}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + payload)
    return path


def write_diffusers_folder(folder: Path, pipeline: str, cross_attention_dim: int) -> Path:
    """A diffusers folder skeleton: model_index.json, the UNet config and weights file."""
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    (folder / "unet" / "config.json").write_text(
        json.dumps({"cross_attention_dim": cross_attention_dim}))
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(folder.name.encode())
    return folder


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    write_safetensors(folder / "dreamshaper-8.safetensors",
                      {UNET_IN: (320, 4, 3, 3), CLIP: (49408, 768)}, b"sd1 weights")
    unet = (320, 4, 3, 3)
    write_safetensors(folder / "sd21.safetensors", {UNET_IN: unet, OPENCLIP: (49408, 1024)})
    write_safetensors(folder / "juggernaut-xl.safetensors", {UNET_IN: unet, SDXL: (1280,)})
    write_safetensors(folder / "some-lora.safetensors", {"lora_unet_x.lora_up.weight": (4, 4)})
    (folder / "old.ckpt").write_bytes(b"not unpickled by the scan")
    (folder / "notes.txt").write_text("not a model")
    write_diffusers_folder(folder / "photon", "StableDiffusionPipeline", 768)
    write_diffusers_folder(folder / "sdxl-folder", "StableDiffusionXLPipeline", 2048)
    return folder


def test_scan_finds_each_family_with_its_default_size(models_dir: Path):
    library = scan_library(models_dir)
    found = {name: (m.family, m.kind, m.width) for name, m in library.models.items()}
    assert found == {
        "dreamshaper-8": ("sd1", "file", 512),
        "sd21": ("sd2", "file", 768),
        "juggernaut-xl": ("sdxl", "file", 1024),
        "old": ("unknown", "file", 512),
        "photon": ("sd1", "folder", 512),
        "sdxl-folder": ("sdxl", "folder", 1024),
    }
    assert "no Stable Diffusion UNet weights" in library.skipped["some-lora.safetensors"]
    assert library.default == "dreamshaper-8"  # first enabled name when none is configured


def test_hash_is_a1111_short_hash_of_the_file_or_the_unet_weights(models_dir: Path, tmp_path):
    library = scan_library(models_dir)
    file_bytes = (models_dir / "dreamshaper-8.safetensors").read_bytes()
    assert library.get("dreamshaper-8").hash == hashlib.sha256(file_bytes).hexdigest()[:10]
    assert library.get("photon").hash == hashlib.sha256(b"photon").hexdigest()[:10]
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    assert short_hash(empty) == "e3b0c44298"  # SHA-256 of nothing, the known answer


def test_hashes_are_cached_and_follow_a_changed_file(models_dir: Path, tmp_path):
    cache = tmp_path / "hashes.json"
    path = models_dir / "sd21.safetensors"
    first = short_hash(path, cache)
    stored = json.loads(cache.read_text())
    assert stored[str(path.resolve())]["sha256"].startswith(first)
    path.write_bytes(path.read_bytes() + b"changed")
    assert short_hash(path, cache) == hashlib.sha256(path.read_bytes()).hexdigest()[:10] != first


def test_models_toml_sets_title_size_price_enabled_default_and_ckpt_family(models_dir: Path):
    (models_dir / "models.toml").write_text(
        'default = "photon"\n'
        '[models.photon]\ntitle = "Photon v1"\nwidth = 512\nheight = 768\nprice = 1.5\n'
        '[models.sd21]\nenabled = false\n'
        '[models.old]\nfamily = "sdxl"\n')
    library = scan_library(models_dir)
    photon = library.get(None)
    assert (photon.name, photon.title, photon.width, photon.height, photon.price) == (
        "photon", "Photon v1", 512, 768, 1.5)
    assert library.get("sd21").enabled is False
    assert "sd21" not in [m.name for m in library.enabled()]
    assert library.enabled()[0].name == "photon"
    assert (library.get("old").family, library.get("old").width) == ("sdxl", 1024)


def test_a_disabled_default_falls_back_to_an_enabled_model(models_dir: Path):
    (models_dir / "models.toml").write_text(
        'default = "photon"\n[models.photon]\nenabled = false\n')
    assert scan_library(models_dir).default == "dreamshaper-8"


def test_broken_models_toml_and_missing_folder_are_clear_errors(models_dir: Path, tmp_path):
    (models_dir / "models.toml").write_text("default = ")
    with pytest.raises(LibraryError, match="models.toml is not valid TOML"):
        scan_library(models_dir)
    with pytest.raises(LibraryError, match="does not exist"):
        scan_library(tmp_path / "nowhere")


def test_model_setting_alone_is_a_library_of_one(models_dir: Path):
    demo = scan_library(None, None)
    assert list(demo.models) == ["daydream-demo"] and demo.get(None).family == "sd1"
    xl = scan_library(None, "daydream-demo-xl").get(None)
    assert (xl.name, xl.family, xl.width, xl.height) == ("daydream-demo-xl", "sdxl", 1024, 1024)
    single = scan_library(None, str(models_dir / "juggernaut-xl.safetensors"))
    assert single.default == "juggernaut-xl" and single.get(None).family == "sdxl"
    hub = scan_library(None, "owner/model").get(None)
    assert (hub.name, hub.kind, hub.hash) == ("owner/model", "hub", None)


def test_model_setting_names_the_default_inside_a_models_folder(models_dir: Path):
    assert scan_library(models_dir, "sd21").default == "sd21"
    by_path = scan_library(models_dir, str(models_dir / "photon"))
    assert by_path.default == "photon"


def test_infotext_carries_the_model_hash_before_the_model_like_a1111():
    params = GenerationParams("a fox", width=512, height=512, steps=20, scheduler="Euler a")
    text = format_parameters(params, 5, "dreamshaper-8", model_hash="879db523c3")
    assert text.endswith("Size: 512x512, Model hash: 879db523c3, Model: dreamshaper-8")
    assert parse_parameters(text)["Model hash"] == "879db523c3"
    assert "Model hash" not in format_parameters(params, 5, "x")


def test_lora_tags_are_cut_from_the_prompt_with_their_weights():
    from daydream.engine.prompt import LoraRef, extract_loras

    text, refs = extract_loras("a fox <lora:sparkle:0.8>, snow <LORA:grain> <lora:x:0.5:0.2>")
    assert text == "a fox , snow"
    assert refs == [LoraRef("sparkle", 0.8), LoraRef("grain", 1.0), LoraRef("x", 0.5)]
    assert extract_loras("no tags <here>") == ("no tags <here>", [])


@pytest.mark.parametrize(("prompt", "message"), [
    ("<lora:../etc/passwd:1>", "not a plain file name"),
    ("<lora:a:lots>", "is not a number"),
    ("<lora:a:1e9>", "between -10 and 10"),
    ("<lora:a:1> <lora:a:0.5>", "appears twice"),
    (" ".join(f"<lora:l{i}>" for i in range(9)), "at most 8"),
])
def test_bad_lora_tags_are_refused_with_a_reason(prompt, message):
    from daydream.engine.errors import ParamError
    from daydream.engine.prompt import extract_loras

    with pytest.raises(ParamError, match=message) as caught:
        extract_loras(prompt)
    assert set(caught.value.errors) == {"prompt"}


def test_lora_files_are_found_only_inside_the_lora_folder(tmp_path: Path):
    from daydream.engine.prompt import list_loras, lora_path

    (tmp_path / "loras").mkdir()
    (tmp_path / "loras" / "sparkle.safetensors").write_bytes(b"x")
    (tmp_path / "outside.safetensors").write_bytes(b"x")
    assert lora_path(tmp_path / "loras", "sparkle") == (tmp_path / "loras" / "sparkle.safetensors")
    assert lora_path(tmp_path / "loras", "../outside") is None
    assert lora_path(None, "sparkle") is None
    assert [p.name for p in list_loras(tmp_path / "loras")] == ["sparkle.safetensors"]
