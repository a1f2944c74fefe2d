"""The model library: checkpoints in ``MODELS_DIR`` with their family, hash and defaults.

No torch here: the web process lists and validates models with it. A scan reads folder
listings, ``model_index.json``/UNet configs and safetensors headers (never the weights,
except once per file to hash it; hashes are cached). The operator describes models in an
optional ``models.toml`` beside them::

    default = "dreamshaper-8"

    [models.dreamshaper-8]
    title = "DreamShaper 8"
    width = 512
    height = 768
    price = 1.5            # price factor applied to the task's cost
    enabled = true
    family = "sd1"         # only needed for .ckpt files (read without unpickling)

Without ``MODELS_DIR`` the library holds one model: ``MODEL`` (or the demo model).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import has_app_context

from daydream.engine.demo import DEMO_NAME, SDXL_DEMO_NAME
from daydream.engine.hashing import safetensors_shapes, short_hash
from daydream.engine.loader import SINGLE_FILE_SUFFIXES, detect_architecture

SIDECAR = "models.toml"
FAMILIES = ("sd1", "sd2", "sdxl")
DEFAULT_SIDE = {"sd1": 512, "sd2": 768, "sdxl": 1024, "unknown": 512}
_ARCH_FAMILY = {"sd1": "sd1", "demo": "sd1", "sd2": "sd2", "sdxl": "sdxl"}
_BUILT_IN = {DEMO_NAME: "sd1", SDXL_DEMO_NAME: "sdxl"}


class LibraryError(ValueError):
    """The models folder or its ``models.toml`` is unusable; the message says why."""


@dataclass
class ModelEntry:
    """One checkpoint the service can run."""

    name: str  # stable: file stem, folder name, built-in demo name or hub id
    source: str  # what the engine loads: a path, a hub id or a built-in demo name
    family: str  # sd1, sd2, sdxl or unknown
    kind: str  # file, folder, demo or hub
    hash: str | None = None  # A1111 short hash (10 hex)
    title: str = ""
    width: int = 512
    height: int = 512
    price: float = 1.0
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable view."""
        return asdict(self)


@dataclass
class Library:
    """Every model found, the default's name, and files skipped with the reason."""

    models: dict[str, ModelEntry]
    default: str
    skipped: dict[str, str] = field(default_factory=dict)

    def get(self, name: str | None) -> ModelEntry | None:
        """The entry called ``name`` (None/empty: the default), or None."""
        return self.models.get(name or self.default)

    def enabled(self) -> list[ModelEntry]:
        """Models people may pick, default first, then by name."""
        found = [m for m in self.models.values() if m.enabled]
        return sorted(found, key=lambda m: (m.name != self.default, m.name.lower()))


def family_of_file(path: Path) -> str:
    """Family of a single checkpoint from its safetensors header; .ckpt files: unknown."""
    if path.suffix != ".safetensors":
        return "unknown"  # reading a .ckpt means unpickling it; models.toml can say
    try:
        arch = detect_architecture(safetensors_shapes(path))
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{path.name}: unreadable .safetensors header ({exc})") from exc
    if arch == "unknown":
        raise LibraryError(f"{path.name}: no Stable Diffusion UNet weights (a LoRA, a VAE?)")
    if arch not in _ARCH_FAMILY:
        raise LibraryError(f"{path.name}: {arch} checkpoints are not supported")
    return _ARCH_FAMILY[arch]


def family_of_folder(folder: Path) -> str:
    """Family of a diffusers folder from ``model_index.json`` and the UNet config."""
    try:
        index = json.loads((folder / "model_index.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{folder.name}: no readable model_index.json ({exc})") from exc
    pipeline = index.get("_class_name", "")
    if pipeline == "StableDiffusionXLPipeline":
        return "sdxl"
    if pipeline != "StableDiffusionPipeline":
        raise LibraryError(f"{folder.name}: {pipeline or 'unknown'} pipelines are not supported")
    try:
        unet = json.loads((folder / "unet" / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return "sd1"
    return "sd2" if unet.get("cross_attention_dim") == 1024 else "sd1"


def _entry_for(path: Path, hash_cache: Path | None) -> ModelEntry | None:
    """An entry for one item of the models folder, None when it is not a model."""
    if path.is_dir() and (path / "model_index.json").is_file():
        family, kind = family_of_folder(path), "folder"
    elif path.is_file() and path.suffix in SINGLE_FILE_SUFFIXES:
        family, kind = family_of_file(path), "file"
    else:
        return None
    name = path.stem if kind == "file" else path.name
    side = DEFAULT_SIDE[family]
    return ModelEntry(name, str(path), family, kind, short_hash(path, hash_cache),
                      name, side, side)


def _single_entry(model: str | None, hash_cache: Path | None,
                  demo_folder: Path | None) -> ModelEntry:
    """The library of one: ``MODEL`` (a path, hub id or built-in demo) or the demo model."""
    name = (model or "").strip() or DEMO_NAME
    if name in _BUILT_IN:
        family = _BUILT_IN[name]
        folder = demo_folder.parent / ("demo-xl" if family == "sdxl" else "demo") \
            if demo_folder else None
        digest = short_hash(folder, hash_cache) if folder and folder.is_dir() else None
        side = DEFAULT_SIDE[family]
        return ModelEntry(name, name, family, "demo", digest, name, side, side)
    path = Path(name).expanduser()
    if path.exists():
        entry = _entry_for(path, hash_cache)
        if entry is None:
            raise LibraryError(f"{name} is neither a diffusers folder nor a checkpoint file")
        return entry
    side = DEFAULT_SIDE["unknown"]
    return ModelEntry(name, name, "unknown", "hub", None, name, side, side)


def read_sidecar(models_dir: Path) -> dict[str, Any]:
    """The operator's ``models.toml`` (empty when absent)."""
    path = models_dir / SIDECAR
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LibraryError(f"{path} is not valid TOML: {exc}") from exc


def _apply_sidecar(entry: ModelEntry, settings: dict[str, Any]) -> None:
    """Overlay the operator's title, size, price, enabled flag and family on an entry."""
    family = settings.get("family")
    if family in FAMILIES and entry.family == "unknown":
        entry.family = family
        entry.width = entry.height = DEFAULT_SIDE[family]
    entry.title = str(settings.get("title", entry.title))
    entry.width = int(settings.get("width", entry.width))
    entry.height = int(settings.get("height", entry.height))
    entry.price = float(settings.get("price", entry.price))
    entry.enabled = bool(settings.get("enabled", entry.enabled))


def scan_library(models_dir: Path | None, model: str | None = None, *,
                 hash_cache: Path | None = None, demo_folder: Path | None = None) -> Library:
    """Scan ``models_dir`` (None: the library of one ``model``) into a Library."""
    if models_dir is None:
        entry = _single_entry(model, hash_cache, demo_folder)
        return Library({entry.name: entry}, entry.name)
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise LibraryError(f"models folder {models_dir} does not exist")
    models: dict[str, ModelEntry] = {}
    skipped: dict[str, str] = {}
    for path in sorted(models_dir.iterdir()):
        try:
            entry = _entry_for(path, hash_cache)
        except LibraryError as exc:
            skipped[path.name] = str(exc)
            continue
        if entry is None:
            continue
        if entry.name in models:
            skipped[path.name] = f"another model is already called {entry.name!r}"
            continue
        models[entry.name] = entry
    if model and model.strip() and model not in models:
        extra = _single_entry(model, hash_cache, demo_folder)
        models.setdefault(extra.name, extra)
    sidecar = read_sidecar(models_dir)
    for name, settings in (sidecar.get("models") or {}).items():
        if name in models and isinstance(settings, dict):
            _apply_sidecar(models[name], settings)
    if not models:
        entry = _single_entry(None, hash_cache, demo_folder)
        models[entry.name] = entry
    default = _choose_default(models, sidecar.get("default") or model)
    return Library(models, default, skipped)


def _choose_default(models: dict[str, ModelEntry], wanted: str | None) -> str:
    """The operator's default if it is there and enabled, else the first enabled model."""
    if wanted:
        wanted = Path(wanted).stem if Path(wanted).suffix in SINGLE_FILE_SUFFIXES else wanted
        wanted = Path(wanted).name if Path(wanted).is_dir() else wanted
    if wanted in models and models[wanted].enabled:
        return wanted
    enabled = sorted(name for name, entry in models.items() if entry.enabled)
    return enabled[0] if enabled else sorted(models)[0]


def library_for(config: Any, instance_path: Path | str) -> Library:
    """The library an app's settings describe (``MODELS_DIR``, ``MODEL``); inside an app
    context, with staff's settings from the database (``services.model_settings``)."""
    cache = Path(instance_path) / "models"
    models_dir = config.get("MODELS_DIR")
    library = scan_library(Path(models_dir) if models_dir else None, config.get("MODEL"),
                           hash_cache=cache / "hashes.json", demo_folder=cache / "demo")
    if has_app_context():
        from daydream.services.model_settings import overlay  # imports the database models

        overlay(library)
    return library
