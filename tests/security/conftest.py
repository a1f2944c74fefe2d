"""Fixtures for the security tests: finished tasks with real image files, without a worker."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image as PILImage

from daydream.extensions import db
from daydream.models import Task, User


@dataclass
class Made:
    """Public ids of a finished task and its one image."""

    task: str
    image: str


@pytest.fixture
def make_image(app, make_task):
    """Factory: ``make_image(user, public=False, nsfw=False)`` → a done task with one PNG."""
    from daydream.services import storage

    def factory(user: User, *, public: bool = False, nsfw: bool = False) -> Made:
        task_row = make_task(user, state="done")
        with app.app_context():
            task = db.session.get(Task, task_row.id)
            picture = PILImage.new("RGB", (8, 8), (30, 60, 90))
            buffer = io.BytesIO()
            picture.save(buffer, "PNG")
            image = storage.save_image(task, 0, buffer.getvalue(), picture, 42, nsfw=nsfw)
            image.public = public
            db.session.add(image)
            db.session.commit()
            return Made(task.uuid, image.uuid)

    return factory


@pytest.fixture
def disable(app):
    """Disable an account directly (as staff would in the admin pages)."""

    def factory(user: User) -> None:
        with app.app_context():
            db.session.get(User, user.id).active = False
            db.session.commit()

    return factory


@pytest.fixture
def api_headers(app):
    """Factory: Bearer headers with a fresh API key of ``user``."""
    from daydream.services import apikeys

    def factory(user: User) -> dict[str, str]:
        with app.app_context():
            key = apikeys.create_key(db.session.get(User, user.id), "tests")[1]
        return {"Authorization": f"Bearer {key}"}

    return factory
