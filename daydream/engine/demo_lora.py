"""A tiny LoRA for the demo model, made offline: kohya/A1111 key layout, deterministic.

It targets every attention projection of the demo UNet (``attn1``/``attn2`` ``to_q``,
``to_k``, ``to_v``, ``to_out.0``) with rank-4 random factors strong enough to change the
image, saved as ``.safetensors`` with the ``lora_unet_*.lora_down/lora_up/alpha`` keys that
LoRA files from kohya's sd-scripts (and so most files people download) carry.
"""

from __future__ import annotations

from pathlib import Path

from daydream.engine.demo import UNET_CONFIG

RANK = 4
_TARGETS = (".to_q", ".to_k", ".to_v", ".to_out.0")


def build_demo_lora(path: str | Path, *, seed: int = 0, scale: float = 0.5) -> Path:
    """Write a random rank-4 LoRA for the demo UNet to ``path``; same seed, same bytes."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file

    with torch.device("meta"):  # only the module names and shapes are needed
        unet = UNet2DConditionModel(**UNET_CONFIG)
    generator = torch.Generator("cpu").manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for name, module in sorted(unet.named_modules()):
        if not isinstance(module, torch.nn.Linear) or not name.endswith(_TARGETS):
            continue
        if ".attn1." not in name and ".attn2." not in name:
            continue
        key = "lora_unet_" + name.replace(".", "_")
        down = torch.randn(RANK, module.in_features, generator=generator) * scale
        up = torch.randn(module.out_features, RANK, generator=generator) * scale
        tensors[f"{key}.lora_down.weight"] = down.contiguous()
        tensors[f"{key}.lora_up.weight"] = up.contiguous()
        tensors[f"{key}.alpha"] = torch.tensor(float(RANK))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One metadata key only: safetensors writes metadata from a hash map, so two keys can
    # come out in either order and the file would not be byte-identical across builds.
    save_file(tensors, str(path), metadata={"ss_network_module": "networks.lora"})
    return path
