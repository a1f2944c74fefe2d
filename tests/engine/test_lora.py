"""LoRAs from the prompt: applied for one task, several at once, gone for the next task."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydream.engine.errors import GenerationError
from daydream.engine.params import GenerationParams
from tests.engine.conftest import NUMPY_COPY_WARNING

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)

TINY = {"width": 64, "height": 64, "steps": 2, "seed": 11}


@pytest.fixture(scope="session")
def lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny demo LoRAs made offline, ``sparkle`` and ``grain``."""
    from daydream.engine.demo_lora import build_demo_lora

    folder = tmp_path_factory.mktemp("loras")
    build_demo_lora(folder / "sparkle.safetensors", seed=0)
    build_demo_lora(folder / "grain.safetensors", seed=1)
    return folder


@pytest.fixture(scope="session")
def lora_engine(engine_cache: Path, demo_folder: Path, lora_dir: Path):
    """The demo model with a LoRA folder."""
    from daydream.engine.pipeline import Engine

    return Engine.load(None, engine_cache, device="cpu", lora_dir=lora_dir)


def pixels(engine, prompt: str, **extra) -> bytes:
    """Raw pixels of one small generation."""
    return engine.generate(GenerationParams(prompt, **TINY), **extra).images[0].tobytes()


def test_demo_lora_is_deterministic(tmp_path: Path):
    from daydream.engine.demo_lora import build_demo_lora

    first = build_demo_lora(tmp_path / "a.safetensors").read_bytes()
    assert first == build_demo_lora(tmp_path / "b.safetensors").read_bytes()
    assert first != build_demo_lora(tmp_path / "c.safetensors", seed=1).read_bytes()


def test_lora_changes_the_image_and_is_gone_for_the_next_task(lora_engine, engine):
    plain = pixels(lora_engine, "a fox")
    with_lora = pixels(lora_engine, "a fox <lora:sparkle:0.8>")
    after = pixels(lora_engine, "a fox")
    assert with_lora != plain
    assert after == plain == pixels(engine, "a fox")  # equal to a fresh plain engine's run
    assert not any("lora" in name for name, _ in lora_engine._txt2img.unet.named_modules())


def test_weights_matter_and_several_loras_combine(lora_engine):
    one = pixels(lora_engine, "a fox <lora:sparkle:0.8>")
    weaker = pixels(lora_engine, "a fox <lora:sparkle:0.3>")
    both = pixels(lora_engine, "a fox <lora:sparkle:0.8> <lora:grain:1>")
    assert len({one, weaker, both}) == 3
    # The same two LoRAs in one task again give the same image: nothing leaked in between.
    assert both == pixels(lora_engine, "a fox <lora:sparkle:0.8> <lora:grain:1>")


def test_lora_applies_to_img2img_and_infotext_keeps_the_tag(lora_engine):
    from PIL import Image

    init = Image.new("RGB", (64, 64), (20, 90, 200))
    params = GenerationParams("a fox <lora:grain:1>", strength=0.5, **TINY)
    result = lora_engine.generate(params, init_image=init)
    assert result.img2img and result.params.prompt == "a fox <lora:grain:1>"
    assert "a fox <lora:grain:1>" in result.png_bytes(0).decode("latin-1")
    assert pixels(lora_engine, "a fox <lora:grain:1>", init_image=init) != pixels(
        lora_engine, "a fox", init_image=init)


def test_unknown_lora_fails_clearly_and_the_engine_keeps_working(lora_engine, engine):
    with pytest.raises(GenerationError, match="LoRA 'nope' not found"):
        lora_engine.generate(GenerationParams("a fox <lora:nope:1>", **TINY))
    with pytest.raises(GenerationError, match="no LoRA folder is configured"):
        engine.generate(GenerationParams("a fox <lora:sparkle:1>", **TINY))
    assert pixels(lora_engine, "a fox") == pixels(engine, "a fox")
