"""Account archives: a ZIP of every image a user has, built in the background.

The ``archive`` row is the truth, never a process's memory: a request inserts a queued
row; whoever claims it (a conditional ``UPDATE queued → building``) streams the PNGs into
a file on disk in batches (bounded memory, whatever the image count), beating a heartbeat
as it goes. ``sweep`` marks failed the archives whose builder died (the user asks again),
and removes expired files. Who runs ``build`` (a worker process, or the embedded server's
one builder thread) is ``services.archive_jobs``'s business: everything it needs is in the
database and on disk.
"""

from __future__ import annotations

import logging
import os
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update

from daydream.extensions import db
from daydream.models import Archive, ArchiveState, Image, Task, User
from daydream.models.base import utcnow
from daydream.services import storage
from daydream.services.archives import file_name

log = logging.getLogger(__name__)
BATCH = 200
PROGRESS_EVERY = 0.5  # seconds between progress writes


class ArchiveError(ValueError):
    """An archive request was refused; the message says why."""


def archive_folder() -> Path:
    """Where archives are written (``ARCHIVE_PATH``, else ``<instance>/archives``)."""
    configured = current_app.config.get("ARCHIVE_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / "archives"


def image_count(user_id: int) -> int:
    """How many images a user has."""
    return db.session.scalar(select(func.count(Image.id)).join(Task)
                             .where(Task.user_id == user_id)) or 0


def current(user_id: int) -> Archive | None:
    """The user's newest archive that is not expired."""
    return db.session.scalar(
        select(Archive).where(Archive.user_id == user_id,
                              Archive.state != ArchiveState.EXPIRED.value)
        .order_by(Archive.id.desc()).limit(1))


def request_archive(user: User) -> Archive:
    """Queue an archive of all the user's images and commit; one at a time per user."""
    total = image_count(user.id)
    if total == 0:
        raise ArchiveError("You have no images to archive yet.")
    # Taking the user's row first serialises two requests of one user (any database).
    db.session.execute(update(User).where(User.id == user.id).values(updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    busy = db.session.scalar(select(Archive.id).where(
        Archive.user_id == user.id, Archive.state.in_(ArchiveState.unfinished())))
    if busy:
        db.session.rollback()
        raise ArchiveError("Your archive is already being built; it will be ready soon.")
    for old in db.session.scalars(select(Archive).where(
            Archive.user_id == user.id, Archive.state.in_(
                (ArchiveState.READY.value, ArchiveState.FAILED.value)))):
        _expire(old)
    archive = Archive(user_id=user.id, images_total=total)
    db.session.add(archive)
    db.session.commit()
    return archive


def _claim(archive_id: int) -> bool:
    claimed = db.session.execute(
        update(Archive).where(Archive.id == archive_id,
                              Archive.state == ArchiveState.QUEUED.value)
        .values(state=ArchiveState.BUILDING.value, heartbeat_at=utcnow(), images_done=0)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def _images(user_id: int):
    """(archive name, file) for every image of the user, read in batches by id."""
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Image.id, Image.path, Image.index, Image.seed, Task.uuid).join(Task)
            .where(Task.user_id == user_id, Image.id > last_id)
            .order_by(Image.id).limit(BATCH)).all()
        for image_id, path, index, seed, task_uuid in rows:
            yield image_id, file_name(task_uuid, index, seed), path
        if len(rows) < BATCH:
            return
        last_id = rows[-1][0]


def _progress(archive_id: int, done: int) -> None:
    db.session.execute(update(Archive).where(Archive.id == archive_id)
                       .values(images_done=done, heartbeat_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()


def build(archive_id: int) -> bool:
    """Claim a queued archive and write it; False when someone else has it."""
    if not _claim(archive_id):
        return False
    archive = db.session.get(Archive, archive_id)
    user_id, uuid = archive.user_id, archive.uuid
    folder = archive_folder()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{uuid}.zip"
    partial = final.with_suffix(".zip.part")
    done, last_write = 0, time.monotonic()
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as bundle:
            for _image_id, name, path in _images(user_id):
                source = storage.absolute(path)
                if source.is_file():
                    # ZipFile.write copies in small blocks: memory stays flat.
                    bundle.write(source, arcname=name)
                done += 1
                if time.monotonic() - last_write >= PROGRESS_EVERY:
                    _progress(archive_id, done)
                    last_write = time.monotonic()
        os.replace(partial, final)
    except Exception as error:
        log.exception("archive %s failed", archive_id)
        db.session.rollback()
        partial.unlink(missing_ok=True)
        _finish(archive_id, ArchiveState.FAILED, done, error=f"The archive failed: {error}")
        return True
    keep = timedelta(hours=current_app.config["ARCHIVE_KEEP_HOURS"])
    _finish(archive_id, ArchiveState.READY, done, path=final.name,
            size_bytes=final.stat().st_size, expires_at=utcnow() + keep)
    return True


def _finish(archive_id: int, state: ArchiveState, done: int, **values) -> None:
    db.session.execute(update(Archive).where(Archive.id == archive_id).values(
        state=state.value, images_done=done, finished_at=utcnow(), heartbeat_at=utcnow(),
        **values).execution_options(synchronize_session=False))
    db.session.commit()


def file_of(archive: Archive) -> Path | None:
    """The finished ZIP on disk, if the archive is ready and the file is there."""
    if archive.state != ArchiveState.READY.value or not archive.path:
        return None
    path = archive_folder() / archive.path
    return path if path.is_file() else None


def _expire(archive: Archive) -> None:
    if archive.path:
        (archive_folder() / archive.path).unlink(missing_ok=True)
    archive.state = ArchiveState.EXPIRED.value
    archive.path = None


def sweep() -> list[int]:
    """Expire old archives and fail orphaned ones; returns the ids waiting for a builder."""
    now = utcnow()
    for archive in db.session.scalars(select(Archive).where(
            Archive.state == ArchiveState.READY.value, Archive.expires_at <= now)):
        _expire(archive)
    # A builder that stopped beating died with the archive half written (a worker killed,
    # the server restarted): say so and let the user ask again, rather than build in a loop.
    stale = now - timedelta(seconds=current_app.config["ARCHIVE_STALE_SECONDS"])
    orphans = db.session.execute(select(Archive.id, Archive.uuid).where(
        Archive.state == ArchiveState.BUILDING.value, Archive.heartbeat_at < stale)).all()
    for archive_id, uuid in orphans:
        failed = db.session.execute(update(Archive).where(
            Archive.id == archive_id, Archive.state == ArchiveState.BUILDING.value,
            Archive.heartbeat_at < stale).values(
            state=ArchiveState.FAILED.value, finished_at=now,
            error="The archive stopped before it was finished (the process building it "
                  "ended). Please try again.").execution_options(synchronize_session=False))
        if failed.rowcount == 1:
            (archive_folder() / f"{uuid}.zip.part").unlink(missing_ok=True)
    db.session.commit()
    return list(db.session.scalars(select(Archive.id).where(
        Archive.state == ArchiveState.QUEUED.value).order_by(Archive.id)))


def listing(limit: int = 100) -> list[Archive]:
    """Recent archives of everyone, newest first (for staff)."""
    return list(db.session.scalars(select(Archive).order_by(Archive.id.desc()).limit(limit)))


def view(archive: Archive) -> dict:
    """What the account page polls: state, progress, size, expiry."""
    return {"id": archive.uuid, "state": archive.state, "done": archive.images_done,
            "total": archive.images_total, "size_bytes": archive.size_bytes,
            "error": archive.error,
            "expires_at": archive.expires_at.isoformat() + "Z" if archive.expires_at else None}
