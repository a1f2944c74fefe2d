"""Architecture config folders that single-file loading needs offline.

``from_single_file`` needs a diffusers folder with the component configs and tokenizer of
the checkpoint's architecture; without one it reaches for the hub. We ship SD 1.x's (the
configs as JSON, the CLIP BPE merges gzipped) and write the folder into the model cache
once. No torch here.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

_CONFIG_VERSION = 1  # bump when the shipped files change, to rewrite cached folders
_MARKER = "daydream-config.json"
CLIP_VOCAB_SIZE = 49408


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = keep[:]
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars), strict=True))


def write_clip_tokenizer(folder: Path) -> None:
    """Write CLIP ViT-L/14's ``vocab.json`` and ``merges.txt`` from the shipped merges."""
    data = resources.files("daydream.engine").joinpath("data", "clip_merges.txt.gz")
    merges = gzip.decompress(data.read_bytes()).decode("utf-8").splitlines()
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + [m.replace(" ", "") for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    if len(vocab) != CLIP_VOCAB_SIZE:  # a truncated data file must not yield a wrong model
        raise RuntimeError(f"CLIP vocabulary has {len(vocab)} tokens, expected 49408")
    folder.mkdir(parents=True, exist_ok=True)
    encoder = {token: index for index, token in enumerate(vocab)}
    (folder / "vocab.json").write_text(json.dumps(encoder, ensure_ascii=False), "utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", "utf-8")


def sd15_config_folder(cache_dir: Path) -> Path:
    """Return ``<cache_dir>/configs/sd15``, writing it first if missing or outdated."""
    target = Path(cache_dir) / "configs" / "sd15"
    if _config_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sd15-", dir=target.parent))
    staging.chmod(0o755)
    try:
        source = resources.files("daydream.engine").joinpath("data", "sd15")
        _copy_tree(source, staging)
        write_clip_tokenizer(staging / "tokenizer")
        (staging / _MARKER).write_text(json.dumps({"version": _CONFIG_VERSION}), "utf-8")
        move_into_place(staging, target, _config_complete)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def move_into_place(staging: Path, target: Path, complete: Callable[[Path], bool]) -> None:
    """Rename ``staging`` to ``target``: readers never see a half-written folder.

    Two workers may build at once: whoever renames first wins, the other keeps the winner's.
    """
    if complete(target):
        return
    if target.exists():
        shutil.rmtree(target)  # stale or incomplete (e.g. an older recipe)
    try:
        os.replace(staging, target)
    except OSError:
        if not complete(target):
            raise


def _config_complete(folder: Path) -> bool:
    """True when ``folder`` holds a config folder written by this version."""
    try:
        marker = json.loads((folder / _MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("version") == _CONFIG_VERSION


def _copy_tree(source: resources.abc.Traversable, dest: Path) -> None:
    """Copy a package-data directory (which may live inside a zip) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_dir():
            _copy_tree(item, dest / item.name)
        else:
            (dest / item.name).write_bytes(item.read_bytes())
