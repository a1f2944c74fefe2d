"""Where images live on disk: ``<media>/<user uuid>/<task uuid>/``."""

from __future__ import annotations

import io
import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from flask import current_app
from PIL import Image as PILImage
from PIL import ImageFilter

from daydream.models import Image, Task

THUMB_SIZE = 384
_thumbnailer: ThreadPoolExecutor | None = None
_thumbnailer_lock = threading.Lock()


def media_root() -> Path:
    """The media folder of this instance."""
    return Path(current_app.config["MEDIA_PATH"])


def task_folder(task: Task) -> Path:
    """The folder holding one task's files (relative paths are stored in the rows)."""
    return media_root() / task.user.uuid / task.uuid


def absolute(relative: str) -> Path:
    """Turn a stored relative path into a file path inside the media folder."""
    root = media_root().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError("path escapes the media folder")
    return path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # readers never see half a file


def save_init_image(task: Task, init) -> str:
    """Store a task's (already re-encoded) init image; returns its relative path."""
    path = task_folder(task) / "init.png"
    _write(path, init.png)
    return str(path.relative_to(media_root()))


def save_mask(task: Task, mask) -> str:
    """Store a task's inpainting mask (greyscale PNG); returns its relative path."""
    path = task_folder(task) / "mask.png"
    _write(path, mask.png)
    return str(path.relative_to(media_root()))


def load_mask(task: Task) -> PILImage.Image | None:
    """The task's inpainting mask, if it has one."""
    if not task.mask:
        return None
    with PILImage.open(absolute(task.mask)) as image:
        return image.convert("L")


def load_init_image(task: Task) -> PILImage.Image | None:
    """The task's init image, if it has one."""
    if not task.init_image:
        return None
    with PILImage.open(absolute(task.init_image)) as image:
        return image.convert("RGB")


def thumbnail(image: PILImage.Image, blur: bool = False) -> bytes:
    """A small WebP for the timeline (``blur``: unrecognisable, for a flagged image)."""
    small = image.copy()
    small.thumbnail((THUMB_SIZE, THUMB_SIZE))
    if blur:
        small = small.filter(ImageFilter.GaussianBlur(max(small.size) / 12))
    buffer = io.BytesIO()
    # method 0: libwebp's fastest effort, 4× faster than its default 4 at about the same
    # size for generated pictures (measured); the user waits for it after the last step.
    small.save(buffer, "WEBP", quality=80, method=0)
    return buffer.getvalue()


def thumbnail_beside(image: PILImage.Image, blur: bool = False) -> Future[bytes]:
    """``thumbnail`` on a helper thread, started now: Pillow lets go of the GIL while it
    resizes and encodes, so the caller encodes the PNG meanwhile (at 512 px the thumbnail
    is about 7 ms of the wait after the last step)."""
    global _thumbnailer
    with _thumbnailer_lock:
        if _thumbnailer is None:  # made on first use: never before a fork
            _thumbnailer = ThreadPoolExecutor(1, thread_name_prefix="daydream-thumbnail")
    return _thumbnailer.submit(thumbnail, image, blur)


def save_image(task: Task, index: int, png: bytes, image: PILImage.Image, seed: int,
               nsfw: bool = False, blur_thumbnail: bool = False,
               thumb: bytes | None = None) -> Image:
    """Write one PNG and its thumbnail (``thumb``, or made here); return the (unsaved)
    image row."""
    folder = task_folder(task)
    png_path = folder / f"{index:02d}-{seed}.png"
    thumb_path = folder / f"{index:02d}-{seed}.thumb.webp"
    _write(png_path, png)
    _write(thumb_path, thumb if thumb is not None else thumbnail(image, blur=blur_thumbnail))
    root = media_root()
    return Image(task_id=task.id, user_id=task.user_id, index=index,
                 path=str(png_path.relative_to(root)),
                 thumb_path=str(thumb_path.relative_to(root)), seed=seed,
                 width=image.width, height=image.height, nsfw=nsfw)


def delete_task_files(task: Task) -> None:
    """Remove a task's folder (after the task row is gone or failed)."""
    delete_folder(task_folder(task))


def delete_folder(folder: Path) -> None:
    """Remove a task's folder, known beforehand (its row may be unreadable by now)."""
    shutil.rmtree(folder, ignore_errors=True)


def delete_user_files(user_uuid: str) -> None:
    """Remove everything a user generated."""
    shutil.rmtree(media_root() / user_uuid, ignore_errors=True)
