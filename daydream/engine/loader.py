"""Find and load a text-to-image pipeline from a folder, a single file, a hub id or the demo.

Everything here works offline: downloads are never attempted (``local_files_only``).
Every failure becomes a ``ModelLoadError`` whose message names the file and the problem.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daydream.engine.configs import sd15_config_folder
from daydream.engine.demo import (
    DEMO_INPAINT_NAME,
    DEMO_NAME,
    SDXL_DEMO_NAME,
    build_demo_model,
    demo_name,
)
from daydream.engine.demo_xl import build_sdxl_demo_model, is_sdxl_demo_folder
from daydream.engine.errors import ModelLoadError

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
_NO_SAFETY = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}

# Keys that identify an architecture in an original-layout (LDM/A1111) checkpoint.
_UNET_IN = "model.diffusion_model.input_blocks.0.0.weight"
_CLIP_TOKENS = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
_OPENCLIP_TOKENS = "cond_stage_model.model.token_embedding.weight"
_SDXL_BASE = "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias"
_SDXL_REFINER = "conditioner.embedders.0.model.transformer.resblocks.9.mlp.c_proj.bias"

# Architectures we can load from a single file, with the hub repo whose configs diffusers
# would fetch (we only ever look for it in the local cache).
_CONFIG_REPOS = {
    "sd2": "stabilityai/stable-diffusion-2-1",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
}
_LABELS = {
    "sd1": "Stable Diffusion 1.x",
    "demo": "Daydream demo",
    "sd2": "Stable Diffusion 2.x",
    "sdxl": "SDXL",
    "sdxl-refiner": "SDXL refiner",
    "inpainting": "inpainting",
}


@dataclass
class LoadedModel:
    """A loaded text-to-image pipeline and what we know about where it came from."""

    pipe: Any
    name: str
    is_demo: bool
    source: str  # "demo", "folder", "single-file" or "hub-cache"
    architecture: str  # "sd1", "demo", "sd2", "sdxl" or the pipeline class for folders
    path: Path | None = None  # the file or folder loaded (None for hub ids)


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """Silence diffusers'/transformers' loading bars (worker logs), restoring them after."""
    from diffusers.utils import logging as d_logging
    from transformers.utils import logging as t_logging

    states = [(mod, mod.is_progress_bar_enabled()) for mod in (d_logging, t_logging)]
    for mod, _ in states:
        mod.disable_progress_bar()
    try:
        yield
    finally:
        for mod, enabled in states:
            if enabled:
                mod.enable_progress_bar()


def read_checkpoint_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Return ``{key: shape}`` of a checkpoint without loading all of it (safetensors)."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                return {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
        except Exception as exc:  # SafetensorError, OSError: the file is damaged
            raise ModelLoadError(
                f"{path.name} is not a readable .safetensors checkpoint (corrupt or "
                f"truncated): {exc}"
            ) from exc
    data = _torch_load(path)
    while isinstance(data, Mapping) and "state_dict" in data:
        data = data["state_dict"]
    if not isinstance(data, Mapping):
        raise ModelLoadError(f"{path.name} does not contain a state dict")
    return {k: tuple(getattr(v, "shape", ())) for k, v in data.items()}


def _torch_load(path: Path) -> Any:
    """torch.load a .ckpt safely (tensors only), mapping every failure to ModelLoadError."""
    import pickle

    import torch

    try:
        try:
            # mmap avoids reading gigabytes just to look at key names and shapes.
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            # Legacy (pre-zip) files and garbage cannot be mmapped; read them plainly.
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # a class or function, not just tensors
            raise ModelLoadError(
                f"{path.name} contains pickled Python objects besides tensors, which are "
                f"unsafe to unpickle; convert it to .safetensors with a tool you trust"
            ) from exc
        # torch's message suggests weights_only=False, which we never do; keep its reason.
        reason = re.search(r"WeightsUnpickler error:\s*(.+)", str(exc))
        raise ModelLoadError(
            f"{path.name} is not a readable .ckpt checkpoint (corrupt or truncated): "
            f"{reason.group(1).strip() if reason else exc}"
        ) from exc
    except Exception as exc:  # zip, EOF and OS errors have no common base
        raise ModelLoadError(
            f"{path.name} is not a readable .ckpt checkpoint (corrupt or truncated): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def detect_architecture(shapes: Mapping[str, tuple[int, ...]]) -> str:
    """Name the architecture of an original-layout checkpoint from its keys and shapes."""
    unet_in = shapes.get(_UNET_IN)
    if unet_in is None:
        return "unknown"
    if len(unet_in) == 4 and unet_in[1] == 9:
        return "inpainting"
    if _SDXL_BASE in shapes:
        return "sdxl"
    if _SDXL_REFINER in shapes:
        return "sdxl-refiner"
    if _OPENCLIP_TOKENS in shapes:
        return "sd2"
    tokens = shapes.get(_CLIP_TOKENS)
    if tokens is not None and unet_in[0] == 320 and tokens[-1] == 768:
        return "sd1"
    if tokens is not None and unet_in[0] == 32 and tokens[-1] == 32:
        return "demo"
    return "unknown"


def _cached_hub_folder(repo_id: str) -> Path | None:
    """Local snapshot folder of a hub repo if it is in the HF cache, else None."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached, bad id, no refs: all mean "not available offline"
        return None
    return folder if (folder / "model_index.json").is_file() else None


def _config_for(arch: str, path: Path, cache_dir: Path) -> Path:
    """Choose the local diffusers config folder for a single-file checkpoint."""
    if arch == "sd1":
        return sd15_config_folder(cache_dir)
    if arch == "demo":
        return build_demo_model(cache_dir / "demo")  # its folder holds the matching configs
    if arch in _CONFIG_REPOS:
        repo = _CONFIG_REPOS[arch]
        folder = _cached_hub_folder(repo)
        if folder is None:
            raise ModelLoadError(
                f"{path.name} is an {_LABELS[arch]} checkpoint. Loading it offline needs the "
                f"diffusers configs of {repo}, which are not in the local Hugging Face cache. "
                f"Pass a config folder (a diffusers folder of the same architecture; configs "
                f"and tokenizers suffice), or on a connected machine run: hf download {repo} "
                f'--exclude "*.safetensors" "*.bin" "*.ckpt" "*.onnx*"'
            )
        return folder
    if arch == "unknown":
        raise ModelLoadError(
            f"{path.name} holds no Stable Diffusion UNet weights Daydream recognises "
            f"(model.diffusion_model.*): is it a LoRA, a VAE or an embedding?"
        )
    raise ModelLoadError(f"{path.name} is an {_LABELS[arch]} checkpoint, which is not supported")


def _single_file_pipeline(path: Path, cache_dir: Path, dtype: Any, config: str | None) -> Any:
    """Load an original-layout checkpoint with a local config folder."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    if path.suffix not in SINGLE_FILE_SUFFIXES:
        raise ModelLoadError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
            f"use a {' or '.join(SINGLE_FILE_SUFFIXES)} checkpoint or a diffusers folder"
        )
    arch = detect_architecture(read_checkpoint_shapes(path))
    folder = Path(config) if config else _config_for(arch, path, cache_dir)
    if arch in ("sdxl",):
        cls, extra = StableDiffusionXLPipeline, {}
    else:
        cls, extra = StableDiffusionPipeline, _NO_SAFETY
    pipe = cls.from_single_file(
        str(path), config=str(folder), local_files_only=True, dtype=dtype, **extra
    )
    return pipe, arch


def _folder_pipeline(folder: Path, dtype: Any) -> Any:
    """Load a diffusers folder through the auto pipeline, without a safety checker."""
    from diffusers import AutoPipelineForText2Image

    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise ModelLoadError(
            f"{folder} is not a diffusers model folder (no model_index.json); "
            f"point to the folder itself or to a {'/'.join(SINGLE_FILE_SUFFIXES)} file"
        )
    try:
        index = json.loads(index_file.read_text("utf-8"))
    except ValueError as exc:
        raise ModelLoadError(f"{index_file} is not valid JSON: {exc}") from exc
    extra = _NO_SAFETY if "safety_checker" in index else {}
    pipe = AutoPipelineForText2Image.from_pretrained(
        str(folder), local_files_only=True, dtype=dtype, **extra
    )
    return pipe, str(index.get("_class_name", "unknown"))


def _looks_like_path(model: str) -> bool:
    """A hub id is ``owner/name``; anything with a suffix, separators or dots is a path."""
    return (
        model.startswith((".", "/", "~"))
        or "\\" in model
        or model.count("/") != 1
        or Path(model).suffix in SINGLE_FILE_SUFFIXES
    )


def load_model(
    model: str | os.PathLike[str] | None,
    cache_dir: Path,
    *,
    dtype: Any = None,
    config: str | None = None,
) -> LoadedModel:
    """Load ``model`` (None = demo) offline; raise ``ModelLoadError`` naming any problem."""
    cache_dir = Path(cache_dir)
    with quiet_progress():
        try:
            return _load(model, cache_dir, dtype, config)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"could not load model {str(model) if model else DEMO_NAME!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def _load(model: Any, cache_dir: Path, dtype: Any, config: str | None) -> LoadedModel:
    """Dispatch on what ``model`` names; see ``load_model``."""
    if model is None or str(model).strip() in ("", DEMO_NAME):
        folder = build_demo_model(cache_dir / "demo")
        pipe, _ = _folder_pipeline(folder, dtype)
        return LoadedModel(pipe, DEMO_NAME, True, "demo", "demo", folder)
    if str(model).strip() == SDXL_DEMO_NAME:
        folder = build_sdxl_demo_model(cache_dir / "demo-xl")
        pipe, _ = _folder_pipeline(folder, dtype)
        return LoadedModel(pipe, SDXL_DEMO_NAME, True, "demo", "sdxl", folder)
    if str(model).strip() == DEMO_INPAINT_NAME:
        folder = build_demo_model(cache_dir / "demo-inpaint", inpaint=True)
        pipe, _ = _folder_pipeline(folder, dtype)
        return LoadedModel(pipe, DEMO_INPAINT_NAME, True, "demo", "demo", folder)
    text = os.path.expanduser(str(model).strip())
    path = Path(text)
    if path.is_dir():
        pipe, arch = _folder_pipeline(path, dtype)
        demo = _demo_name(path)
        name = demo or path.resolve().name
        return LoadedModel(pipe, name, demo is not None, "folder", arch, path)
    if path.is_file():
        pipe, arch = _single_file_pipeline(path, cache_dir, dtype, config)
        return LoadedModel(pipe, path.stem, arch == "demo", "single-file", arch, path)
    if _looks_like_path(text):
        raise ModelLoadError(f"model path {text!r} does not exist (no such file or folder)")
    folder = _cached_hub_folder(text)
    if folder is None:
        from huggingface_hub import constants

        raise ModelLoadError(
            f"model {text!r} is neither a file or folder nor a diffusers model in the local "
            f"Hugging Face cache ({constants.HF_HUB_CACHE}); Daydream never downloads "
            f"models: fetch it first with `hf download {text}`"
        )
    pipe, arch = _folder_pipeline(folder, dtype)
    return LoadedModel(pipe, text, False, "hub-cache", arch, folder)


def _demo_name(folder: Path) -> str | None:
    """The built-in name of a demo model folder (SD 1.x, its inpainting variant or SDXL),
    None for other folders."""
    return demo_name(folder) or (SDXL_DEMO_NAME if is_sdxl_demo_folder(folder) else None)


def check_supported(pipe: Any, name: str) -> None:
    """Refuse pipelines the engine cannot drive (no step callback, no generators)."""
    params = inspect.signature(pipe.__call__).parameters
    missing = [p for p in ("callback_on_step_end", "generator") if p not in params]
    if missing:
        raise ModelLoadError(
            f"{name}: {type(pipe).__name__} has no {', '.join(missing)} parameter; "
            f"the engine needs per-step callbacks and seeded generators"
        )
