"""Seeding the gallery from a folder of images (``daydream gallery import FOLDER``).

Every file is read by its content: non-images and files already in the gallery (same
SHA-256) are refused with a reason; A1111 ``parameters`` text, when present, gives the
prompt and settings. Each image becomes a finished, shared task of the owner account.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from PIL import Image as PILImage
from sqlalchemy import select

from daydream.engine.metadata import read_png_parameters
from daydream.engine.params import GenerationParams
from daydream.extensions import db
from daydream.models import Image, Task, TaskState, User
from daydream.models.base import utcnow
from daydream.services import audit, storage
from daydream.services.uploads import UploadError, read_init_image

MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class ImportReport:
    """What an import did: files imported, and files skipped with the reason."""

    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _settings(data: bytes, name: str) -> dict:
    """Prompt and settings from A1111 metadata, else from the file name."""
    try:
        parsed = read_png_parameters(data)["parsed"]
    except (OSError, ValueError, SyntaxError):
        parsed = {}
    defaults = GenerationParams(prompt="")
    prompt = parsed.get("prompt") or Path(name).stem.replace("_", " ").replace("-", " ")

    def number(key: str, default, kind):
        value = parsed.get(key)
        return kind(value) if isinstance(value, int | float) else default

    return {
        "prompt": prompt[:current_app.config["MAX_PROMPT_CHARS"]],
        "negative_prompt": parsed.get("negative_prompt") or "",
        "steps": number("steps", defaults.steps, int),
        "guidance": number("cfg_scale", defaults.cfg_scale, float),
        "scheduler": str(parsed.get("scheduler") or defaults.scheduler)[:40],
        "seed": number("seed", 0, int),
    }


def import_file(path: Path, owner: User, featured: bool = False) -> str | None:
    """Import one file; returns the reason it was skipped, or None when it was imported."""
    if path.stat().st_size > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
    data = path.read_bytes()
    try:
        decoded = read_init_image(data, current_app.config["MAX_UPLOAD_PIXELS"])
    except UploadError as error:
        return f"not an image we can use ({error})"
    digest = hashlib.sha256(data).hexdigest()
    if db.session.scalar(select(Image.id).where(Image.content_hash == digest)):
        return "already in the gallery (the same file was imported before)"
    png = data if data.startswith(b"\x89PNG\r\n\x1a\n") else decoded.png
    values = _settings(data, path.name)
    now = utcnow()
    task = Task(user_id=owner.id, mode="txt2img", width=decoded.width, height=decoded.height,
                samples=1, cost=0, state=TaskState.DONE.value, source="import",
                created_at=now, started_at=now, finished_at=now, **values)
    db.session.add(task)
    db.session.flush()
    with PILImage.open(io.BytesIO(decoded.png)) as picture:
        image = storage.save_image(task, 0, png, picture.convert("RGB"), task.seed)
    image.public, image.featured, image.content_hash = True, featured, digest
    db.session.add(image)
    db.session.commit()
    return None


def import_folder(folder: Path, owner: User, featured: bool = False) -> ImportReport:
    """Import every file of ``folder`` (and its subfolders), in name order."""
    report = ImportReport()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # .DS_Store, .git and the like are not meant for the gallery
        try:
            reason = import_file(path, owner, featured)
        except Exception as error:  # one bad file never stops the rest
            db.session.rollback()
            reason = f"could not be imported ({error})"
        if reason:
            report.skipped.append((name, reason))
        else:
            report.imported.append(name)
    audit.record(owner, "gallery.import", target=str(folder)[:254],
                 after={"imported": len(report.imported), "skipped": len(report.skipped)})
    db.session.commit()
    return report
