"""The public gallery: images their owners chose to share, curated by staff."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager

from daydream.extensions import db
from daydream.models import Image, Task, User
from daydream.services import access, audit

PAGE_SIZE = 24
CURATION = {"hide": ("hidden", True), "restore": ("hidden", False),
            "feature": ("featured", True), "unfeature": ("featured", False)}


@dataclass
class GalleryPage:
    """One page of shared images."""

    images: list[Image]
    page: int
    pages: int
    total: int = 0


def _visible() -> Select:
    """The gallery shows exactly the public images of the one access policy."""
    return access.public_images()


def is_visible(image: Image) -> bool:
    """Whether anyone may see this image in the gallery (``access.is_public``)."""
    return access.is_public(image)


def _with_task(stmt: Select) -> Select:
    """Each card shows its task's settings: fill ``image.task`` from the same query."""
    return stmt.join(Task, Image.task_id == Task.id).options(contains_eager(Image.task))


def _paginate(stmt: Select, page: int, page_size: int = PAGE_SIZE,
              task_joined: bool = False) -> GalleryPage:
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    stmt = stmt.options(contains_eager(Image.task)) if task_joined else _with_task(stmt)
    rows = db.session.scalars(
        stmt.order_by(Image.id.desc()).offset((page - 1) * page_size).limit(page_size))
    return GalleryPage(list(rows), page, pages, total)


def public_images(page: int = 1, query: str = "") -> GalleryPage:
    """Visible images, newest first, one page; ``query`` searches shown prompts."""
    stmt = _visible()
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.join(Task, Image.task_id == Task.id).where(
            Image.prompt_hidden.is_(False), func.lower(Task.prompt).like(like))
    return _paginate(stmt, page, task_joined=bool(query))


def featured(limit: int = 8) -> list[Image]:
    """Visible images staff featured, newest first (the landing page shows them)."""
    return list(db.session.scalars(
        _with_task(_visible()).where(Image.featured.is_(True)).order_by(Image.id.desc())
        .limit(limit)))


def curation_page(page: int = 1, show: str = "all") -> GalleryPage:
    """Shared images for staff, hidden ones included; ``show`` is all/hidden/featured."""
    stmt = (select(Image).join(Task).where(or_(Image.public.is_(True), Image.hidden.is_(True)))
            .options(contains_eager(Image.task).selectinload(Task.user)))  # cards name owners
    if show == "hidden":
        stmt = stmt.where(Image.hidden.is_(True))
    elif show == "featured":
        stmt = stmt.where(Image.featured.is_(True))
    return _paginate(stmt, page, task_joined=True)


def set_shared(image: Image, shared: bool) -> Image:
    """Share an image to the gallery or take it back, and commit."""
    image.public = shared
    db.session.commit()
    return image


def set_prompt_hidden(image: Image, hidden: bool) -> Image:
    """The owner shows or hides the prompt of a shared image, and commit."""
    image.prompt_hidden = hidden
    db.session.commit()
    return image


def curate(image: Image, action: str, actor: User) -> Image:
    """Staff hide, restore, feature or unfeature an image; audited; commit."""
    field, value = CURATION[action]
    before = {"hidden": image.hidden, "featured": image.featured}
    setattr(image, field, value)
    if action == "hide":
        image.featured = False
    audit.record(actor, f"image.{action}", target_user=image.task.user,
                 target=f"image {image.uuid}", before=before,
                 after={"hidden": image.hidden, "featured": image.featured})
    db.session.commit()
    return image


def try_prompt_url(image: Image) -> str | None:
    """The studio, filled with this image's settings (None when the owner hid the prompt)."""
    from flask import url_for

    if image.prompt_hidden:
        return None
    task = image.task
    return url_for("studio.index", prompt=task.prompt, negative_prompt=task.negative_prompt,
                   width=task.width, height=task.height, steps=task.steps,
                   cfg_scale=task.guidance, scheduler=task.scheduler, seed=image.seed)
