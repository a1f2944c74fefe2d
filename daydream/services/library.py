"""The library: every image of an account across all sessions, filtered and paged by keyset.

Pages are cut by image id (``before`` the last id seen), never by OFFSET, so the tenth
thousandth image opens as fast as the first: the database walks the primary key backwards
from the cursor and stops after one page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import contains_eager

from daydream.extensions import db
from daydream.models import Image, Task, TaskState, User
from daydream.models.base import MAX_ID
from daydream.services import access, storage

PAGE_SIZE = 48
MAX_PAGE_SIZE = 200
MODES = ("txt2img", "img2img")
_SIZE = re.compile(r"^(\d{1,5})[x×](\d{1,5})$")


class LibraryQueryError(ValueError):
    """A filter value that makes no sense; ``errors`` maps each field to a readable reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class LibraryFilter:
    """What the person asked to see; empty fields filter nothing."""

    text: str = ""
    mode: str = ""
    model: str = ""
    size: tuple[int, int] | None = None
    since: date | None = None
    until: date | None = None
    favourites: bool = False

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(self.text or self.mode or self.model or self.size or self.since
                    or self.until or self.favourites)

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (to keep it across pages)."""
        args = {"q": self.text, "mode": self.mode, "model": self.model,
                "size": f"{self.size[0]}x{self.size[1]}" if self.size else "",
                "from": self.since.isoformat() if self.since else "",
                "to": self.until.isoformat() if self.until else "",
                "favourites": "1" if self.favourites else ""}
        return {name: value for name, value in args.items() if value}


@dataclass
class LibraryPage:
    """One page of images and the cursor of the next page (None on the last)."""

    images: list[Image]
    next_cursor: int | None
    filters: LibraryFilter = field(default_factory=LibraryFilter)


def _date(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{name} must be a date like 2026-01-31"
        return None


def parse_filter(args: Mapping[str, str]) -> LibraryFilter:
    """Read filters from query arguments; LibraryQueryError lists every bad one."""
    errors: dict[str, str] = {}
    mode = (args.get("mode") or "").strip()
    if mode and mode not in MODES:
        errors["mode"] = "mode must be txt2img or img2img"
    size = None
    raw_size = (args.get("size") or "").strip().lower()
    if raw_size:
        match = _SIZE.match(raw_size)
        if match:
            size = (int(match[1]), int(match[2]))
        else:
            errors["size"] = "size must look like 512x512"
    since = _date((args.get("from") or "").strip(), "from", errors)
    until = _date((args.get("to") or "").strip(), "to", errors)
    if errors:
        raise LibraryQueryError(errors)
    return LibraryFilter(
        text=(args.get("q") or "").strip()[:200], mode=mode,
        model=(args.get("model") or "").strip()[:200], size=size, since=since, until=until,
        favourites=(args.get("favourites") or "") in ("1", "true", "on", "yes"),
    )


def parse_cursor(raw: str | None) -> int | None:
    """A ``before`` cursor (an image or task id); LibraryQueryError when it is not one."""
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
        raise LibraryQueryError({"before": "before must be the cursor a page gave you"})
    return int(raw)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(user: User, filters: LibraryFilter) -> Select:
    query = (select(Image).join(Task, Image.task_id == Task.id)
             .where(access.images_owned_by(user)))
    if filters.text:
        pattern = f"%{_escape_like(filters.text.lower())}%"
        query = query.where(func.lower(Task.prompt).like(pattern, escape="\\"))
    if filters.mode:
        query = query.where(Task.mode == filters.mode)
    if filters.model:
        query = query.where(Task.model == filters.model)
    if filters.size:
        query = query.where(Image.width == filters.size[0], Image.height == filters.size[1])
    if filters.since:
        start = datetime.combine(filters.since, datetime.min.time())
        query = query.where(Image.created_at >= start)
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), datetime.min.time())
        query = query.where(Image.created_at < end)
    if filters.favourites:
        query = query.where(Image.favourite.is_(True))
    return query


def page(user: User, filters: LibraryFilter | None = None, before: int | None = None,
         limit: int = PAGE_SIZE) -> LibraryPage:
    """One page of the user's images, newest first, starting after the ``before`` cursor."""
    filters = filters or LibraryFilter()
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _filtered(user, filters)
    if before is not None:
        query = query.where(Image.id < before)
    # The task is joined already: fill image.task from that row, not one query per image.
    rows = list(db.session.scalars(query.options(contains_eager(Image.task))
                                   .order_by(Image.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return LibraryPage(rows, rows[-1].id if more and rows else None, filters)


def neighbours(user: User, image: Image, filters: LibraryFilter) -> tuple[Image | None,
                                                                         Image | None]:
    """The newer and the older image around ``image`` in the same filtered list."""
    query = _filtered(user, filters)
    newer = db.session.scalar(query.where(Image.id > image.id).order_by(Image.id.asc()).limit(1))
    older = db.session.scalar(query.where(Image.id < image.id).order_by(Image.id.desc()).limit(1))
    return newer, older


def count(user: User) -> int:
    """How many images the user has in all."""
    return db.session.scalar(select(func.count(Image.id))
                             .where(access.images_owned_by(user))) or 0


def choices(user: User) -> dict[str, list[str]]:
    """The models and sizes the user's images have, for the filter menus."""
    models = db.session.scalars(select(Task.model).where(
        access.owned_by(user), Task.model.is_not(None)).group_by(Task.model)
        .order_by(Task.model))
    sizes = db.session.execute(select(Image.width, Image.height).where(
        access.images_owned_by(user)).group_by(Image.width, Image.height)
        .order_by(Image.width, Image.height))
    return {"models": list(models), "sizes": [f"{w}x{h}" for w, h in sizes]}


def owned_image(user: User, image_uuid: str) -> Image | None:
    """The user's own image with this id; None for anybody else's or none at all."""
    return db.session.scalar(select(Image).join(Task).where(
        Image.uuid == image_uuid, access.owned_by(user)))


def owned_images(user: User, image_uuids: Iterable[str]) -> list[Image]:
    """The user's own images among these ids, newest first (others' are left out)."""
    wanted = list(dict.fromkeys(u for u in image_uuids if u))[:MAX_PAGE_SIZE * 5]
    if not wanted:
        return []
    return list(db.session.scalars(select(Image).join(Task).where(
        Image.uuid.in_(wanted), access.owned_by(user)).order_by(Image.id.desc())))


def set_favourite(image: Image, favourite: bool) -> Image:
    """Mark or unmark an image as a favourite, and commit."""
    image.favourite = favourite
    db.session.commit()
    return image


def _remove_files(image: Image) -> None:
    for relative in (image.path, image.thumb_path):
        try:
            storage.absolute(relative).unlink(missing_ok=True)
        except (ValueError, OSError):
            pass  # a file already gone or outside the media folder is not ours to fail on


def delete_images(images: Iterable[Image]) -> int:
    """Delete images (files and rows); a finished task left with none goes too. Commits."""
    images = list(images)
    task_ids = {image.task_id for image in images}
    for image in images:
        _remove_files(image)
    if images:
        db.session.execute(delete(Image).where(Image.id.in_([i.id for i in images]))
                           .execution_options(synchronize_session=False))
    emptied = [task for task in db.session.scalars(select(Task).where(Task.id.in_(task_ids)))
               if task.state not in TaskState.unfinished()
               and not db.session.scalar(select(func.count(Image.id))
                                         .where(Image.task_id == task.id))]
    for task in emptied:
        storage.delete_task_files(task)
        db.session.delete(task)
    db.session.commit()
    db.session.expire_all()
    return len(images)


def delete_all_images(user: User) -> int:
    """Delete every finished task of the user with its images and files. Commits."""
    finished = list(db.session.scalars(select(Task).where(
        access.owned_by(user), Task.state.not_in(TaskState.unfinished()))))
    removed = 0
    for task in finished:
        removed += len(task.images)
        storage.delete_task_files(task)
        db.session.delete(task)
    db.session.commit()
    return removed


def image_details(image: Image) -> dict:
    """Everything the lightbox and the API show about one image and the task behind it."""
    from daydream.services.statuses import image_view

    task = image.task
    view = image_view(image)
    view.update(
        favourite=bool(image.favourite), index=image.index, task_id=task.uuid, mode=task.mode,
        model=task.model, prompt=task.prompt, negative_prompt=task.negative_prompt,
        steps=task.steps, cfg_scale=task.guidance, scheduler=task.scheduler,
        strength=task.strength, samples=task.samples, source=task.source,
        created_at=image.created_at.isoformat() + "Z",
    )
    return view


def handoff(user: User, reuse: str | None, variant: str | None) -> dict | None:
    """Settings for the studio to load from a library link: a task's, or an image to vary."""
    from daydream.services.access import find_task
    from daydream.services.statuses import task_status

    if variant:
        image = owned_image(user, variant)
        if image is None:
            return None
        return {"settings": task_status(image.task, {}), "image": image.uuid,
                "thumb": f"/media/{image.uuid}.thumb.webp"}
    task = find_task(user, reuse) if reuse else None
    if task is None or task.user_id != user.id:
        return None
    return {"settings": task_status(task, {}), "image": None, "thumb": None}
