"""Export an SD 1.x diffusers pipeline as one original-layout checkpoint (.safetensors/.ckpt).

The inverse of diffusers' single-file conversion (``convert_ldm_*_checkpoint``): the keys
written here are the ones A1111 and ``from_single_file`` read. Used to turn the demo model
into single files for tests, and handy to hand a diffusers folder to LDM-based tools.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."

_UNET_RESNET = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("time_emb_proj", "emb_layers.1"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("conv_shortcut", "skip_connection"),
]
_UNET_FIXED = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_VAE_FIXED = {"conv_norm_out": "norm_out"}
_VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _resnet(rest: str) -> str:
    """Rename a UNet resnet sub-key (``norm1.weight`` -> ``in_layers.0.weight``)."""
    for new, old in _UNET_RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def unet_to_ldm(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Map diffusers UNet2DConditionModel keys to ``model.diffusion_model.*`` keys."""
    per = config["layers_per_block"] + 1  # resnets per down block, plus its downsampler slot
    up_attn = [t.startswith("CrossAttn") for t in config["up_block_types"]]
    out: dict[str, Any] = {}
    for key, value in state.items():
        head, _, param = key.rpartition(".")
        if head in _UNET_FIXED:
            new = f"{_UNET_FIXED[head]}.{param}"
        elif m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
            block, kind, layer, rest = int(m[1]), m[2], int(m[3]), m[4]
            index = 1 + block * per + layer
            sub = f"0.{_resnet(rest)}" if kind == "resnets" else f"1.{rest}"
            new = f"input_blocks.{index}.{sub}"
        elif m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
            new = f"input_blocks.{(int(m[1]) + 1) * per}.0.op.{m[2]}"
        elif m := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", key):
            new = f"middle_block.{int(m[1]) * 2}.{_resnet(m[2])}"
        elif m := re.match(r"mid_block\.attentions\.0\.(.*)", key):
            new = f"middle_block.1.{m[1]}"
        elif m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
            block, kind, layer, rest = int(m[1]), m[2], int(m[3]), m[4]
            sub = f"0.{_resnet(rest)}" if kind == "resnets" else f"1.{rest}"
            new = f"output_blocks.{block * per + layer}.{sub}"
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
            block = int(m[1])
            slot = 2 if up_attn[block] else 1  # the upsampler follows the attention, if any
            new = f"output_blocks.{block * per + per - 1}.{slot}.conv.{m[2]}"
        else:
            raise ValueError(f"unexpected UNet key {key!r}: not an SD 1.x UNet")
        out[UNET_PREFIX + new] = value
    return out


def vae_to_ldm(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Map diffusers AutoencoderKL keys to ``first_stage_model.*`` keys."""
    blocks = len(config["up_block_types"])
    out: dict[str, Any] = {}
    for key, value in state.items():
        part, _, rest = key.partition(".")  # encoder / decoder / quant_conv / post_quant_conv
        if part in ("quant_conv", "post_quant_conv"):
            new = key
        elif m := re.match(r"(down|up)_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", rest):
            # The LDM decoder numbers its up blocks from the bottom, diffusers from the top.
            block = int(m[2]) if m[1] == "down" else blocks - 1 - int(m[2])
            sub = m[4].replace("conv_shortcut", "nin_shortcut")
            new = f"{part}.{m[1]}.{block}.block.{m[3]}.{sub}"
        elif m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", rest):
            new = f"{part}.down.{m[1]}.downsample.conv.{m[2]}"
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", rest):
            new = f"{part}.up.{blocks - 1 - int(m[1])}.upsample.conv.{m[2]}"
        elif m := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", rest):
            sub = m[2].replace("conv_shortcut", "nin_shortcut")
            new = f"{part}.mid.block_{int(m[1]) + 1}.{sub}"
        elif m := re.match(r"mid_block\.attentions\.0\.(.*)\.(weight|bias)", rest):
            new = f"{part}.mid.attn_1.{_VAE_ATTN[m[1]]}.{m[2]}"
            if m[2] == "weight" and value.ndim == 2:
                value = value[:, :, None, None]  # LDM stores these projections as 1x1 convs
        else:
            head, _, param = rest.rpartition(".")
            if head not in ("conv_in", "conv_out", "conv_norm_out"):
                raise ValueError(f"unexpected VAE key {key!r}: not an SD 1.x VAE")
            new = f"{part}.{_VAE_FIXED.get(head, head)}.{param}"
        out[VAE_PREFIX + new] = value
    return out


def text_encoder_to_ldm(state: dict[str, Any]) -> dict[str, Any]:
    """Prefix CLIPTextModel keys the way SD 1.x checkpoints store them."""
    # transformers >= 5.6 flattened CLIPTextModel (no ``text_model.`` level); checkpoints
    # keep it, and diffusers' loader expects it.
    return {
        CLIP_PREFIX + (key if key.startswith("text_model.") else "text_model." + key): value
        for key, value in state.items()
    }


def pipeline_to_ldm(pipe: Any) -> dict[str, Any]:
    """Return the whole original-layout state dict for an SD 1.x pipeline (tensors shared)."""
    state = unet_to_ldm(pipe.unet.state_dict(), dict(pipe.unet.config))
    state.update(vae_to_ldm(pipe.vae.state_dict(), dict(pipe.vae.config)))
    state.update(text_encoder_to_ldm(pipe.text_encoder.state_dict()))
    return state


def save_single_file(pipe: Any, path: str | Path) -> Path:
    """Write ``pipe`` as one checkpoint; ``.safetensors`` or ``.ckpt`` by the file suffix."""
    import torch

    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in pipeline_to_ldm(pipe).items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path), metadata={"format": "pt"})
    elif path.suffix in (".ckpt", ".pt", ".pth"):
        torch.save({"state_dict": state}, path)  # the layout CompVis and A1111 checkpoints use
    else:
        raise ValueError(f"unsupported checkpoint suffix {path.suffix!r}: use .safetensors/.ckpt")
    return path
