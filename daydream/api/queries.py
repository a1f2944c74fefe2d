"""Reading a caller's own tasks and images for the API (rules in services/access.py)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from daydream.extensions import db
from daydream.models import Image, Task, User
from daydream.services import access


def list_tasks(user: User, state: str | None, page: int, per_page: int) -> tuple[list[Task], int]:
    """One page of the user's own tasks, newest first, and how many there are in all."""
    where = [access.owned_by(user)]
    if state:
        where.append(Task.state == state)
    total = db.session.scalar(select(func.count(Task.id)).where(*where)) or 0
    rows = db.session.scalars(select(Task).where(*where).options(selectinload(Task.images))
                              .order_by(Task.id.desc())
                              .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def image_for(user: User, image_uuid: str) -> Image | None:
    """The image with this id if the user owns it (staff: any); None otherwise."""
    return access.find_image(user, image_uuid, include_public=False)
