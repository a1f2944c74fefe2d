"""Model loading: demo build, folders, single files, the hub cache, and clear errors."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from daydream.engine.errors import ModelLoadError
from daydream.engine.params import GenerationParams
from daydream.engine.pipeline import Engine
from tests.engine.conftest import NUMPY_COPY_WARNING, SMALL

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)

PARAMS = GenerationParams(prompt="a quiet harbour", seed=7, **SMALL)


def pixels(engine: Engine, params: GenerationParams = PARAMS) -> bytes:
    """Raw RGB bytes of the first image (metadata-free, so model names don't matter)."""
    return engine.generate(params).images[0].tobytes()


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_demo_build_is_fast_and_byte_identical(tmp_path, demo_folder):
    from daydream.engine.demo import build_demo_model

    start = time.perf_counter()
    built = build_demo_model(tmp_path / "again")
    assert time.perf_counter() - start < 1.0  # measured ~0.1 s once torch is imported
    assert tree_digest(built) == tree_digest(demo_folder)
    assert sum(p.stat().st_size for p in built.rglob("*")) < 15_000_000


def test_demo_is_built_once_and_rebuilt_when_incomplete(tmp_path):
    from daydream.engine.demo import build_demo_model

    folder = build_demo_model(tmp_path / "demo")
    stamp = (folder / "model_index.json").stat().st_mtime_ns
    assert build_demo_model(folder) == folder
    assert (folder / "model_index.json").stat().st_mtime_ns == stamp  # not rebuilt
    (folder / "daydream-demo.json").unlink()  # e.g. a build killed halfway in an old version
    build_demo_model(folder)
    assert (folder / "daydream-demo.json").is_file()


def test_concurrent_builds_both_succeed(tmp_path, demo_folder):
    from concurrent.futures import ThreadPoolExecutor

    from daydream.engine.demo import build_demo_model

    # Two workers starting at once: one rename wins, the other keeps the winner's folder.
    with ThreadPoolExecutor(2) as pool:
        folders = list(pool.map(lambda _: build_demo_model(tmp_path / "race"), range(2)))
    assert folders == [tmp_path / "race"] * 2
    assert tree_digest(tmp_path / "race") == tree_digest(demo_folder)
    assert [p.name for p in tmp_path.iterdir()] == ["race"]  # no staging folders left


def test_demo_engine_facts(engine):
    assert engine.model_name == "daydream-demo"
    assert engine.is_demo and engine.source == "demo"
    assert engine.device.type == "cpu" and engine.dtype == torch.float32


def test_folder_path_loads_same_model(engine, demo_folder, engine_cache):
    by_path = Engine.load(str(demo_folder), engine_cache, device="cpu")
    assert by_path.source == "folder" and by_path.is_demo
    assert pixels(by_path) == pixels(engine)


def test_renamed_folder_is_named_after_itself(engine, demo_folder, engine_cache, tmp_path):
    copy = shutil.copytree(
        demo_folder, tmp_path / "my-model", ignore=shutil.ignore_patterns("daydream-demo.json")
    )
    other = Engine.load(copy, engine_cache, device="cpu")
    assert (other.model_name, other.is_demo) == ("my-model", False)
    assert pixels(other) == pixels(engine)


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_single_file_loads_offline_with_identical_output(
    engine, single_files, engine_cache, suffix
):
    loaded = Engine.load(single_files[suffix], engine_cache, device="cpu")
    assert loaded.source == "single-file"
    assert loaded.model_name == "demo-export"
    assert pixels(loaded) == pixels(engine)


def test_converter_is_the_inverse_of_diffusers_conversion(engine):
    from diffusers.loaders.single_file_utils import (
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
    )

    from daydream.engine.convert import pipeline_to_ldm

    pipe = engine._txt2img
    ldm = pipeline_to_ldm(pipe)
    assert all(
        k.startswith(
            (
                "model.diffusion_model.",
                "first_stage_model.",
                "cond_stage_model.transformer.text_model.",
            )
        )
        for k in ldm
    )
    for module, back in (
        (pipe.unet, convert_ldm_unet_checkpoint(ldm, dict(pipe.unet.config))),
        (pipe.vae, convert_ldm_vae_checkpoint(ldm, dict(pipe.vae.config))),
    ):
        original = module.state_dict()
        assert set(back) == set(original)
        assert all(torch.equal(back[k].reshape(original[k].shape), original[k]) for k in original)


def test_hub_id_in_local_cache(engine, demo_folder, engine_cache, tmp_path, monkeypatch):
    from huggingface_hub import constants

    # The layout huggingface_hub writes: refs/main -> commit, snapshots/<commit>/...
    repo = tmp_path / "hub" / "models--someone--tiny-sd"
    commit = "0" * 40
    shutil.copytree(demo_folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    cached = Engine.load("someone/tiny-sd", engine_cache, device="cpu")
    assert (cached.source, cached.model_name) == ("hub-cache", "someone/tiny-sd")
    assert pixels(cached) == pixels(engine)
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache|neither"):
        Engine.load("someone/not-downloaded", engine_cache, device="cpu")


def test_sd15_config_folder_is_the_real_architecture(engine_cache):
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from daydream.engine.configs import sd15_config_folder

    folder = sd15_config_folder(engine_cache)
    with init_empty_weights():  # shapes only, no 4 GB of memory
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
    counts = [sum(p.numel() for p in m.parameters()) for m in (unet, vae, text)]
    assert counts == [859_520_964, 83_653_863, 123_060_480]  # SD 1.5's published sizes
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    assert len(tokenizer) == 49408 and tokenizer.model_max_length == 77
    # Ids of openai/clip-vit-large-patch14 for this prompt.
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_architecture_detection():
    from daydream.engine.loader import detect_architecture

    unet = "model.diffusion_model.input_blocks.0.0.weight"
    clip = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
    assert detect_architecture({unet: (320, 4, 3, 3), clip: (49408, 768)}) == "sd1"
    assert detect_architecture({unet: (32, 4, 3, 3), clip: (519, 32)}) == "demo"
    assert detect_architecture({unet: (320, 9, 3, 3), clip: (49408, 768)}) == "inpainting"
    assert (
        detect_architecture(
            {unet: (320, 4, 3, 3), "cond_stage_model.model.token_embedding.weight": (49408, 1024)}
        )
        == "sd2"
    )
    assert detect_architecture({"lora_unet_down.alpha": ()}) == "unknown"


# --- errors -------------------------------------------------------------------------------


def fake_checkpoint(path: Path, keys: dict[str, tuple[int, ...]]) -> Path:
    """A small safetensors file with the given keys (zeros)."""
    save_file({k: torch.zeros(shape) for k, shape in keys.items()}, str(path))
    return path


@pytest.mark.parametrize(
    "model", ["/nowhere/model.safetensors", "missing-model", "./models/x.ckpt"]
)
def test_missing_paths(model, engine_cache):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Engine.load(model, engine_cache, device="cpu")


def test_corrupt_safetensors(tmp_path, engine_cache):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!" + bytes(64))
    with pytest.raises(ModelLoadError, match=r"broken\.safetensors is not a readable"):
        Engine.load(path, engine_cache, device="cpu")


def test_truncated_safetensors(single_files, tmp_path, engine_cache):
    data = single_files[".safetensors"].read_bytes()
    path = tmp_path / "half.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="half.safetensors"):
        Engine.load(path, engine_cache, device="cpu")


def test_corrupt_ckpt(tmp_path, engine_cache):
    path = tmp_path / "garbage.ckpt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelLoadError, match=r"garbage\.ckpt is not a readable \.ckpt"):
        Engine.load(path, engine_cache, device="cpu")


class Payload:
    """Something a weights-only unpickler must refuse to rebuild."""


def test_ckpt_with_pickled_code_is_refused(tmp_path, engine_cache):
    path = tmp_path / "sneaky.ckpt"
    torch.save({"state_dict": {}, "callback": Payload()}, path)
    with pytest.raises(ModelLoadError, match="pickled Python objects besides tensors"):
        Engine.load(path, engine_cache, device="cpu")


def test_unsupported_file_type(tmp_path, engine_cache):
    path = tmp_path / "model.bin"
    path.write_bytes(b"0" * 10)
    with pytest.raises(ModelLoadError, match=r"unsupported file type \.bin"):
        Engine.load(path, engine_cache, device="cpu")


def test_folder_without_model_index(tmp_path, engine_cache):
    with pytest.raises(ModelLoadError, match="no model_index.json"):
        Engine.load(tmp_path, engine_cache, device="cpu")


def test_lora_like_file_is_not_a_model(tmp_path, engine_cache):
    path = fake_checkpoint(
        tmp_path / "style.safetensors", {"lora_unet_down.lora_up.weight": (4, 4)}
    )
    with pytest.raises(ModelLoadError, match="no Stable Diffusion UNet weights"):
        Engine.load(path, engine_cache, device="cpu")


def test_sdxl_file_without_cached_config_says_what_is_missing(tmp_path, engine_cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    path = fake_checkpoint(
        tmp_path / "xl.safetensors",
        {
            "model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3),
            "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias": (1280,),
        },
    )
    with pytest.raises(ModelLoadError) as caught:
        Engine.load(path, engine_cache, device="cpu")
    message = str(caught.value)
    assert "SDXL" in message and "stabilityai/stable-diffusion-xl-base-1.0" in message
    assert "hf download" in message


def test_inpainting_file_is_unsupported(tmp_path, engine_cache):
    path = fake_checkpoint(
        tmp_path / "inpaint.safetensors",
        {
            "model.diffusion_model.input_blocks.0.0.weight": (320, 9, 3, 3),
        },
    )
    with pytest.raises(ModelLoadError, match="inpainting checkpoint, which is not supported"):
        Engine.load(path, engine_cache, device="cpu")


def test_demo_single_file_with_missing_weights(single_files, tmp_path, engine_cache):
    from safetensors.torch import load_file

    state = load_file(str(single_files[".safetensors"]))
    del state["model.diffusion_model.out.2.weight"]
    path = tmp_path / "incomplete.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match="could not load model .*incomplete.safetensors"):
        Engine.load(path, engine_cache, device="cpu")


def test_profiles_and_devices_are_checked_before_loading(engine_cache):
    with pytest.raises(ModelLoadError, match="unknown memory profile"):
        Engine.load(None, engine_cache, profile="turbo")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="cpu-offload profile needs a CUDA device"):
            Engine.load(None, engine_cache, device="cpu", profile="cpu-offload")
        with pytest.raises(ModelLoadError, match="CUDA is not available"):
            Engine.load(None, engine_cache, device="cuda")
    with pytest.raises(ModelLoadError, match="unknown device"):
        Engine.load(None, engine_cache, device="gpu-please")


def test_low_vram_profile_runs(engine_cache, engine):
    low = Engine.load(None, engine_cache, device="cpu", profile="low-vram")
    assert low.profile == "low-vram"
    image = low.generate(PARAMS).images[0]
    reference = engine.generate(PARAMS).images[0]
    # Sliced attention and VAE slicing regroup float sums: equal up to rounding.
    diff = np.abs(np.asarray(image, dtype=int) - np.asarray(reference, dtype=int))
    assert diff.max() <= 2
