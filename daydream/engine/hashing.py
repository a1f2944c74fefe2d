"""Model hashes as AUTOMATIC1111 computes them, and safetensors headers read without torch.

A1111's "Model hash" in the infotext is the *short hash*: the first 10 hex digits of the
SHA-256 of the whole checkpoint file (``CheckpointInfo.shorthash = sha256[0:10]``; the
pre-2023 8-digit hash of 64 KB at offset 1 MB is not used). A diffusers folder has no single
file, so we hash its UNet weights, the part that makes one checkpoint differ from another.
Hashing a multi-GB file takes seconds: results are cached by (path, size, mtime).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from pathlib import Path

SHORT_HASH_LENGTH = 10
_BLOCK = 1024 * 1024
_UNET_FILES = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.fp16.safetensors",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.fp16.bin",
)
_CACHE_LOCK = threading.Lock()
# Process-wide memo: the same file is never read twice while it is unchanged.
_MEMO: dict[tuple[str, int, int], str] = {}


def weights_file(path: Path) -> Path | None:
    """The file whose hash names a model: the file itself, or a folder's UNet weights."""
    path = Path(path)
    if path.is_file():
        return path
    for name in _UNET_FILES:
        candidate = path / "unet" / name
        if candidate.is_file():
            return candidate
    return None


def sha256_of(path: Path, cache_file: Path | None = None) -> str:
    """Full SHA-256 hex digest of ``path``, memoised by (path, size, mtime) and on disk."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _MEMO:
        return _MEMO[key]
    stored = _read_cache(cache_file).get(key[0]) if cache_file else None
    if stored and stored.get("size") == key[1] and stored.get("mtime_ns") == key[2]:
        _MEMO[key] = stored["sha256"]
        return stored["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    _MEMO[key] = digest.hexdigest()
    if cache_file:
        _write_cache(cache_file, key, _MEMO[key])
    return _MEMO[key]


def short_hash(path: Path, cache_file: Path | None = None) -> str | None:
    """A1111's short model hash of a checkpoint file or diffusers folder; None if no weights."""
    target = weights_file(Path(path))
    if target is None:
        return None
    return sha256_of(target, cache_file)[:SHORT_HASH_LENGTH]


def _read_cache(cache_file: Path) -> dict:
    """The on-disk hash cache, or an empty one when missing or damaged."""
    try:
        data = json.loads(cache_file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache_file: Path, key: tuple[str, int, int], sha256: str) -> None:
    """Add one entry to the cache file (atomic replace; a failed write only costs a rehash)."""
    with _CACHE_LOCK:
        data = _read_cache(cache_file)
        data[key[0]] = {"size": key[1], "mtime_ns": key[2], "sha256": sha256}
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
            temporary.write_text(json.dumps(data, indent=1), "utf-8")
            os.replace(temporary, cache_file)
        except OSError:
            pass


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` from a .safetensors header, in pure Python (8-byte length + JSON)."""
    with open(path, "rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path.name} is too short to be a .safetensors file")
        (length,) = struct.unpack("<Q", raw)
        if length > 100 * 1024 * 1024:
            raise ValueError(f"{path.name} has an implausible header length {length}")
        header = json.loads(handle.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name} has no JSON object header")
    return {
        key: tuple(value.get("shape", ()))
        for key, value in header.items()
        if key != "__metadata__" and isinstance(value, dict)
    }
