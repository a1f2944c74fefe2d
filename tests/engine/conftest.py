"""Engine fixtures: one demo model per session, single-file exports of it, a tiny NSFW checker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The engine must never reach the network; make any attempt fail loudly instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# numpy >= 2 warns when torch's Tensor.__array__ lacks the ``copy`` keyword; diffusers'
# Euler schedulers call np.array(tensor) in __init__/set_timesteps. Third-party and harmless,
# so modules that run schedulers filter exactly this message (see ``pytestmark`` there).
NUMPY_COPY_WARNING = (
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SMALL = {"width": 64, "height": 64, "steps": 4}


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache folder shared by the session (demo model, config folders)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def demo_folder(engine_cache: Path) -> Path:
    """The demo model built once for the session."""
    from daydream.engine.demo import build_demo_model

    return build_demo_model(engine_cache / "demo")


@pytest.fixture(scope="session")
def engine(engine_cache: Path, demo_folder: Path):
    """The demo model loaded through ``Engine.load(None, ...)`` on CPU."""
    from daydream.engine.pipeline import Engine

    return Engine.load(None, engine_cache, device="cpu")


@pytest.fixture(scope="session")
def single_files(engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo model exported as original-layout .safetensors and .ckpt files."""
    from daydream.engine.convert import save_single_file

    folder = tmp_path_factory.mktemp("single")
    return {
        suffix: save_single_file(engine._txt2img, folder / f"demo-export{suffix}")
        for suffix in (".safetensors", ".ckpt")
    }


def make_safety_checker(folder: Path, *, flag_everything: bool) -> Path:
    """Save a tiny random StableDiffusionSafetyChecker whose thresholds flag all or nothing."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import (
        StableDiffusionSafetyChecker,
    )
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "vocab_size": 100,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 16,
        },
        projection_dim=8,
    )
    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(config)
    # score = cosine - threshold (+ adjustment); cosine is in [-1, 1], so a threshold of -10
    # flags every image and +10 none, whatever the random weights compute.
    threshold = -10.0 if flag_everything else 10.0
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(threshold)
    checker.save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder
