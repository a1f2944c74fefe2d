"""The public gallery: images their owners chose to share, pruned by staff."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from daydream.extensions import db
from daydream.models import Image, Task, User

PAGE_SIZE = 24


@dataclass
class GalleryPage:
    """One page of shared images."""

    images: list[Image]
    page: int
    pages: int


def public_images(page: int = 1) -> GalleryPage:
    """Shared images, newest first, one page (owners that were disabled are left out)."""
    shared = (select(Image).join(Task).join(User, Task.user_id == User.id)
              .where(Image.public.is_(True), Image.nsfw.is_(False), User.active.is_(True)))
    total = db.session.scalar(select(func.count()).select_from(shared.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        shared.order_by(Image.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return GalleryPage(list(rows), page, pages)


def find_image(image_uuid: str) -> Image | None:
    """An image by its public id."""
    return db.session.scalar(select(Image).where(Image.uuid == image_uuid))


def set_shared(image: Image, shared: bool) -> Image:
    """Share an image to the gallery or take it back, and commit."""
    image.public = shared
    db.session.commit()
    return image
