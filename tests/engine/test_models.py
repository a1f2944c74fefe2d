"""Several models through one interface: the SDXL demo model, model hashes in the PNG."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from daydream.engine.metadata import read_png_parameters
from daydream.engine.params import GenerationParams
from tests.engine.conftest import NUMPY_COPY_WARNING, SMALL

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def sdxl_engine(engine_cache: Path):
    """The SDXL demo model, loaded by its built-in name like any model."""
    from daydream.engine.pipeline import Engine

    return Engine.load("daydream-demo-xl", engine_cache, device="cpu")


def test_sdxl_demo_builds_byte_identical_with_two_encoders(tmp_path: Path):
    from daydream.engine.demo_xl import build_sdxl_demo_model, is_sdxl_demo_folder

    first = build_sdxl_demo_model(tmp_path / "a")
    second = build_sdxl_demo_model(tmp_path / "b")
    assert is_sdxl_demo_folder(first)
    assert folder_digest(first) == folder_digest(second)
    assert {"text_encoder", "text_encoder_2", "tokenizer_2", "unet"} <= {
        p.name for p in first.iterdir()}


def test_sdxl_engine_runs_txt2img_reproducibly_with_xl_previews(sdxl_engine):
    steps = []
    params = GenerationParams("a fox", seed=7, **SMALL)
    result = sdxl_engine.generate(params, on_step=steps.append)
    again = sdxl_engine.generate(params)
    assert type(sdxl_engine._txt2img).__name__ == "StableDiffusionXLPipeline"
    assert sdxl_engine.model_name == "daydream-demo-xl" and sdxl_engine.is_demo
    assert result.images[0].size == (64, 64)
    assert result.images[0].tobytes() == again.images[0].tobytes()
    assert [s.step for s in steps] == [1, 2, 3, 4] and steps[-1].preview_jpeg
    other = sdxl_engine.generate(GenerationParams("a fox", seed=8, **SMALL))
    assert other.images[0].tobytes() != result.images[0].tobytes()


def test_sdxl_engine_runs_img2img(sdxl_engine):
    init = Image.new("RGB", (64, 64), (200, 40, 40))
    params = GenerationParams("a fox", seed=3, strength=0.5, **SMALL)
    result = sdxl_engine.generate(params, init_image=init)
    assert result.img2img and result.steps_run == 2
    assert result.images[0].size == (64, 64)


def test_png_infotext_has_the_a1111_short_hash_of_the_unet(sdxl_engine, engine, engine_cache):
    for eng, folder in ((sdxl_engine, "demo-xl"), (engine, "demo")):
        unet = engine_cache / folder / "unet" / "diffusion_pytorch_model.safetensors"
        expected = hashlib.sha256(unet.read_bytes()).hexdigest()[:10]
        result = eng.generate(GenerationParams("a fox", seed=1, width=64, height=64, steps=1))
        meta = read_png_parameters(result.png_bytes(0))
        assert f"Model hash: {expected}, Model: {eng.model_name}" in meta["text"]
        assert meta["daydream"]["model_hash"] == expected
    assert sdxl_engine.model_hash != engine.model_hash


def test_single_file_export_is_hashed_whole(single_files, engine_cache):
    from daydream.engine.pipeline import Engine

    path = single_files[".safetensors"]
    loaded = Engine.load(path, engine_cache, device="cpu")
    assert loaded.model_hash == hashlib.sha256(path.read_bytes()).hexdigest()[:10]
