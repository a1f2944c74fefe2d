"""ZIP archives of images, streamed as they are written (never built in memory)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from flask import Response, stream_with_context

from daydream.models import Image, Task
from daydream.services import storage


class _Chunks:
    """A write-only, unseekable sink that hands written bytes to a generator."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def stream_zip(files: Iterable[tuple[str, Path | bytes]],
               chunk_size: int = 1 << 16) -> Iterator[bytes]:
    """Yield a ZIP of ``(name in archive, file on disk or bytes)`` pairs, piece by piece."""
    sink = _Chunks()
    # PNGs are already compressed: store them, which is fast and loses nothing.
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in files:
            source = io.BytesIO(path) if isinstance(path, bytes) else path.open("rb")
            with source, archive.open(name, mode="w", force_zip64=True) as out:
                while block := source.read(chunk_size):
                    out.write(block)
                    if sink.offset and len(sink.parts) > 8:
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()


def download_name(image: Image) -> str:
    """The file name an image downloads as: task, position and seed."""
    return file_name(image.task.uuid, image.index, image.seed)


def file_name(task_uuid: str, index: int, seed: int) -> str:
    """The download name from the bare values (for callers reading columns, not rows)."""
    return f"daydream-{task_uuid}-{index + 1}-seed{seed}.png"


def images_archive(images: Iterable[Image], name: str) -> tuple[str, Iterator[bytes]] | None:
    """(file name, streamed ZIP) of these images' PNGs still on disk; None when none are."""
    files = [(download_name(image), storage.absolute(image.path)) for image in images]
    files = [(entry, path) for entry, path in files if path.is_file()]
    if not files:
        return None
    return name, stream_zip(files)


def task_archive(task: Task) -> tuple[str, Iterator[bytes]] | None:
    """(file name, streamed ZIP) of a task's PNGs still on disk; None when there are none."""
    return images_archive(task.images, f"daydream-{task.uuid}.zip")


def archive_response(archive: tuple[str, Iterator[bytes]] | None) -> Response | None:
    """A streamed ZIP download of an archive; None when there is nothing to send."""
    if archive is None:
        return None
    name, chunks = archive
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def zip_response(task: Task) -> Response | None:
    """A streamed ZIP download of the task's PNGs; None when it has none."""
    return archive_response(task_archive(task))
