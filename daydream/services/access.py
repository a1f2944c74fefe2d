"""Who may see what: the one access policy for tasks, images and the public gallery.

Every view, API endpoint and service that finds a task or an image by its public id asks
here, so the rules cannot drift apart again:

- a task (its status, card, ZIP, cancel) belongs to its owner; staff may see any;
- an image is seen by whoever may see its task, and by everyone while it is *public*:
  shared by its owner, not hidden by staff, not flagged NSFW, and its owner's account not
  disabled (the same rule the gallery lists by);
- only the owner shares or unshares an image; staff may take one out of the gallery.

Anyone not allowed gets ``None`` from the finders, which views turn into a 404, never a
403, so a stranger cannot learn that an id exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from daydream.extensions import db
from daydream.models import Image, Task, User


def _user(viewer: Any) -> User | None:
    """The viewer as a logged-in ``User``, or None for anonymous visitors."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return None
    return viewer


def is_staff(viewer: Any) -> bool:
    """Whether the viewer is a logged-in staff member."""
    user = _user(viewer)
    return bool(user and user.is_staff)


def owns(viewer: Any, task: Task) -> bool:
    """Whether the viewer is the owner of the task."""
    user = _user(viewer)
    return user is not None and task.user_id == user.id


def can_see_task(viewer: Any, task: Task) -> bool:
    """Owner or staff may see (and cancel) a task and everything it made."""
    return owns(viewer, task) or is_staff(viewer)


def is_public(image: Image) -> bool:
    """Shared, not hidden by staff, not NSFW, owner not disabled: anyone may see it."""
    return bool(image.public and not image.hidden and not image.nsfw
                and image.task.user.active)


def can_see_image(viewer: Any, image: Image) -> bool:
    """Whoever may see the image's task, and everyone while the image is public."""
    return can_see_task(viewer, image.task) or is_public(image)


def can_share(viewer: Any, image: Image) -> bool:
    """Only the owner puts an image in the gallery or takes it back."""
    return owns(viewer, image.task)


def can_hide(viewer: Any, image: Image) -> bool:
    """Staff may take any image out of the gallery."""
    return is_staff(viewer)


def owned_by(user: User) -> ColumnElement[bool]:
    """SQL condition: tasks of this user (for listings of "your" tasks)."""
    return Task.user_id == user.id


def images_owned_by(user: User) -> ColumnElement[bool]:
    """SQL condition: images of this user's tasks (``image.user_id`` is copied from the task
    at insert, so this is ``owned_by`` without a join)."""
    return Image.user_id == user.id


def public_images() -> Select[tuple[Image]]:
    """SQL select of every public image, by the same rule as ``is_public``."""
    # The owner through image.user_id (the task's owner): counting the gallery joins the few
    # shared images to their owners, not to every task.
    return (select(Image).join(User, Image.user_id == User.id)
            .where(Image.public.is_(True), Image.hidden.is_(False), Image.nsfw.is_(False),
                   User.active.is_(True)))


def find_task(viewer: Any, task_uuid: str) -> Task | None:
    """The task with this public id if the viewer may see it; None otherwise."""
    task = db.session.scalar(select(Task).where(Task.uuid == task_uuid))
    return task if task is not None and can_see_task(viewer, task) else None


def find_image(viewer: Any, image_uuid: str, *, include_public: bool = True) -> Image | None:
    """The image with this public id if the viewer may see it; None otherwise.

    ``include_public=False`` is for "your images" endpoints (the API), where someone
    else's shared image is still not yours.
    """
    image = db.session.scalar(select(Image).where(Image.uuid == image_uuid))
    if image is None:
        return None
    allowed = can_see_image(viewer, image) if include_public else can_see_task(viewer, image.task)
    return image if allowed else None
