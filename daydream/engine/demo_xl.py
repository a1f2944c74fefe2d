"""The SDXL demo model: a tiny random-weight SDXL pipeline built offline, like demo.py's.

Two text encoders (CLIP-L-like and a CLIP-G-like one with a projection), the UNet's
``text_time`` size conditioning and the SDXL scheduler, at toy sizes, so the SDXL code
path (pooled embeddings, add_time_ids, XL previews) runs in tests without a download.
Its images are noise. Importing this module does not import torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daydream.engine.demo import (
    SDXL_DEMO_NAME,
    VAE_CONFIG,
    build_once,
    write_demo_tokenizer,
)

SDXL_DEMO_VERSION = 1
_MARKER = "daydream-demo.json"
_SEED = 1
_TEXT_HIDDEN = 32  # both encoders; SDXL concatenates them: cross-attention dim 64
_TIME_EMBED = 8

# The shapes diffusers' own SDXL tests use, with the SD demo's 32/64 channels.
UNET_XL_CONFIG: dict[str, Any] = {
    "block_out_channels": [32, 64],
    "layers_per_block": 2,
    "sample_size": 32,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "attention_head_dim": [2, 4],
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": _TIME_EMBED,
    "transformer_layers_per_block": [1, 2],
    # six size numbers (original size, crop, target size) plus the pooled text embedding
    "projection_class_embeddings_input_dim": 6 * _TIME_EMBED + _TEXT_HIDDEN,
    "cross_attention_dim": 2 * _TEXT_HIDDEN,
    "norm_num_groups": 32,
}
# SDXL base's scheduler configuration.
SCHEDULER_XL_CONFIG: dict[str, Any] = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "interpolation_type": "linear",
    "prediction_type": "epsilon",
}


def is_sdxl_demo_folder(folder: Path) -> bool:
    """True when ``folder`` holds a complete SDXL demo model of the current version."""
    try:
        marker = json.loads((Path(folder) / _MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (
        marker.get("name") == SDXL_DEMO_NAME
        and marker.get("version") == SDXL_DEMO_VERSION
        and (Path(folder) / "model_index.json").is_file()
    )


def build_sdxl_demo_model(target: Path, *, force: bool = False) -> Path:
    """Build the SDXL demo pipeline into ``target`` once (atomically); return the folder."""
    return build_once(Path(target), is_sdxl_demo_folder, _build_into, force=force)


def _text_config(vocab_size: int, projection: bool) -> Any:
    """A 5-layer CLIP text config of hidden size 32 over the demo's byte-level vocabulary."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        hidden_size=_TEXT_HIDDEN,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=5,
        max_position_embeddings=77,
        vocab_size=vocab_size,
        hidden_act="gelu",
        projection_dim=_TEXT_HIDDEN if projection else 512,
    )


def _build_into(folder: Path) -> None:
    """Create the random SDXL components with a fixed seed and save them as a folder."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
    from transformers.utils import logging as hf_logging

    tokenizers = []
    for sub in ("tokenizer", "tokenizer_2"):
        vocab_size = write_demo_tokenizer(folder / sub)
        tokenizers.append(CLIPTokenizer(str(folder / sub / "vocab.json"),
                                        str(folder / sub / "merges.txt"), model_max_length=77))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        unet = UNet2DConditionModel(**UNET_XL_CONFIG)
        vae = AutoencoderKL(**VAE_CONFIG, scaling_factor=0.13025)
        text_encoder = CLIPTextModel(_text_config(vocab_size, projection=False))
        text_encoder_2 = CLIPTextModelWithProjection(_text_config(vocab_size, projection=True))
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizers[0],
        tokenizer_2=tokenizers[1],
        unet=unet,
        scheduler=EulerDiscreteScheduler(**SCHEDULER_XL_CONFIG),
    )
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        pipe.save_pretrained(folder, safe_serialization=True)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    (folder / _MARKER).write_text(
        json.dumps({"name": SDXL_DEMO_NAME, "version": SDXL_DEMO_VERSION, "weights": "random"}),
        "utf-8",
    )
