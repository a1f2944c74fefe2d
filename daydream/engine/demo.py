"""The demo model: a tiny random-weight SD 1.x pipeline built offline in well under a second.

Its images are noise. It exists so a fresh install runs the whole path (queue, progress,
previews, PNGs) with no download and no GPU, and so tests exercise the real loader.
Importing this module does not import torch (the web process reads ``DEMO_NAME``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daydream.engine.configs import bytes_to_unicode, move_into_place

DEMO_NAME = "daydream-demo"
SDXL_DEMO_NAME = "daydream-demo-xl"  # built by demo_xl.py
# The same demo as a dedicated inpainting checkpoint (9-channel UNet: latents, mask, masked
# image), so both inpainting paths run offline; load it with DAYDREAM_MODEL=daydream-demo-inpaint.
DEMO_INPAINT_NAME = "daydream-demo-inpaint"
# Bump when the architecture or the build changes, so old folders are rebuilt.
DEMO_VERSION = 1
_MARKER = "daydream-demo.json"
_SEED = 0
_BUILD_LOCK = threading.Lock()

# Same shapes as diffusers' own SD test components, except the VAE: 4 blocks give the real
# 8x latent scale factor, so sizes, latents and previews behave like SD 1.x.
UNET_CONFIG: dict[str, Any] = {
    "block_out_channels": [32, 64],
    "layers_per_block": 2,
    "sample_size": 32,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "cross_attention_dim": 32,
    "norm_num_groups": 32,
}
VAE_CONFIG: dict[str, Any] = {
    "block_out_channels": [32, 32, 64, 64],
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "latent_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 32,
    "sample_size": 256,
}
# The real SD 1.5 scheduler configuration, so every sampler runs its real schedule.
SCHEDULER_CONFIG: dict[str, Any] = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
}


def write_demo_tokenizer(folder: Path) -> int:
    """Write a byte-level CLIP tokenizer (vocab.json, merges.txt); return its vocab size.

    Every byte is a token on its own and with the ``</w>`` end-of-word suffix, so any prompt
    tokenizes without unknown tokens; a few merges keep the BPE machinery honest.
    """
    symbols = list(bytes_to_unicode().values())
    merges = ["t h", "th e</w>", "a n", "i n", "an d</w>"]
    vocab = symbols + [s + "</w>" for s in symbols] + [m.replace(" ", "") for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(
        json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False), encoding="utf-8"
    )
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", "utf-8")
    return len(vocab)


def demo_name(folder: Path) -> str | None:
    """The demo's name (plain or inpainting) when ``folder`` holds a complete demo model of
    the current version, else None."""
    try:
        marker = json.loads((folder / _MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if marker.get("version") != DEMO_VERSION or not (folder / "model_index.json").is_file():
        return None
    name = DEMO_INPAINT_NAME if marker.get("inpaint") else DEMO_NAME
    # The SDXL demo shares the marker file; its name keeps it from passing as this demo.
    return name if marker.get("name", DEMO_NAME) == name else None


def is_demo_folder(folder: Path, *, inpaint: bool = False) -> bool:
    """True when ``folder`` holds a complete demo model (of that kind) of the current version."""
    return demo_name(folder) == (DEMO_INPAINT_NAME if inpaint else DEMO_NAME)


def build_demo_model(target: Path, *, force: bool = False, inpaint: bool = False) -> Path:
    """Build the demo pipeline (``inpaint``: its inpainting variant) into ``target`` once
    (atomically) and return the folder."""
    return build_once(
        Path(target),
        lambda folder: is_demo_folder(folder, inpaint=inpaint),
        lambda folder: _build_into(folder, inpaint),
        force=force,
    )


def build_once(
    target: Path, complete: Callable[[Path], bool], build: Callable[[Path], None],
    *, force: bool = False,
) -> Path:
    """Run ``build`` into a staging folder renamed to ``target``, unless already complete."""
    if complete(target) and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the model folder is not secret
    try:
        # Weights come from torch's global RNG: two threads building at once would draw
        # from the same stream and both get different weights. Other processes are safe.
        with _BUILD_LOCK:
            build(staging)
        if force and target.exists():
            shutil.rmtree(target)
        move_into_place(staging, target, complete)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _build_into(folder: Path, inpaint: bool = False) -> None:
    """Create the random components with a fixed seed and save them as a diffusers folder."""
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab_size = write_demo_tokenizer(folder / "tokenizer")
    tokenizer = CLIPTokenizer(
        str(folder / "tokenizer" / "vocab.json"),
        str(folder / "tokenizer" / "merges.txt"),
        model_max_length=77,  # CLIP's context; the default is "unlimited" and breaks padding
    )
    text_config = CLIPTextConfig(
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=5,
        max_position_embeddings=77,
        vocab_size=vocab_size,
    )
    # Fork the RNG so building the demo never disturbs the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        unet = UNet2DConditionModel(**{**UNET_CONFIG, "in_channels": 9 if inpaint else 4})
        vae = AutoencoderKL(**VAE_CONFIG)
        text_encoder = CLIPTextModel(text_config)
    kind = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    pipe = kind(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=PNDMScheduler(**SCHEDULER_CONFIG),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    from transformers.utils import logging as hf_logging

    # transformers draws a "Writing model shards" bar on save: noise in a worker's log.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        pipe.save_pretrained(folder, safe_serialization=True)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    (folder / _MARKER).write_text(
        json.dumps({"name": DEMO_INPAINT_NAME if inpaint else DEMO_NAME, "inpaint": inpaint,
                    "version": DEMO_VERSION, "weights": "random"}), "utf-8"
    )
