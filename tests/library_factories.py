"""Factories for library tests: finished tasks with real image files, fast and without a model."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from daydream.extensions import db
from daydream.models import Image, Task, TaskState, User
from daydream.services import storage


def png_of(width: int, height: int, colour=(30, 90, 160)) -> tuple[bytes, PILImage.Image]:
    """A PNG of one colour, as bytes and as the PIL image."""
    picture = PILImage.new("RGB", (width, height), colour)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue(), picture


@pytest.fixture
def make_images(app):
    """Factory: ``make_images(user, n=1, prompt=..., width=64, height=64, mode=..., model=...)``
    → the uuids of ``n`` images of one finished task, files written to the media folder."""

    def factory(user: User, n: int = 1, *, prompt: str = "a test", width: int = 64,
                height: int = 64, mode: str = "txt2img", model: str = "demo",
                **fields) -> list[str]:
        with app.app_context():
            task = Task(user_id=user.id, prompt=prompt, width=width, height=height, steps=2,
                        guidance=7.0, scheduler="Euler", seed=100, cost=1, samples=n,
                        mode=mode, model=model, state=TaskState.DONE.value,
                        **{"sessionid": user.sessionid, **fields})
            db.session.add(task)
            db.session.flush()
            png, picture = png_of(width, height)
            images = [storage.save_image(task, index, png, picture, 100 + index)
                      for index in range(n)]
            db.session.add_all(images)
            db.session.commit()
            return [image.uuid for image in images]

    return factory


def bulk_images(user_id: int, count: int, batch: int = 500, per_task: int = 4,
                sessionid: str | None = None, public: bool = False) -> None:
    """Insert ``count`` image rows (``per_task`` to a task) without files: for paging at
    scale (``sessionid``: in that studio session; ``public``: shared to the gallery)."""
    batch -= batch % per_task
    for start in range(0, count, batch):
        size = min(batch, count - start)
        tasks = [Task(user_id=user_id, prompt=f"scale test {start + i}", width=64, height=64,
                      steps=2, guidance=7.0, scheduler="Euler", seed=i, cost=1,
                      samples=per_task, state=TaskState.DONE.value, model="demo",
                      sessionid=sessionid)
                 for i in range(0, size, per_task)]
        db.session.add_all(tasks)
        db.session.flush()
        db.session.add_all(
            Image(task_id=tasks[i // per_task].id, index=i % per_task,
                  path=f"x/{start + i}.png", thumb_path=f"x/{start + i}.webp", seed=i,
                  width=64, height=64, public=public)
            for i in range(size))
        db.session.commit()
