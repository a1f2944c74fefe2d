"""Reading the studio form into engine parameters and an optional init image."""

from __future__ import annotations

from flask import Request, abort, current_app
from flask_login import current_user
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Image, Task
from daydream.services import storage
from daydream.services.uploads import InitImage, UploadError, read_init_image

FIELDS = ("prompt", "negative_prompt", "width", "height", "steps", "cfg_scale", "samples",
          "seed", "scheduler", "strength")


def generation_fields(request: Request) -> dict:
    """The generation fields of the form; an unticked "random" leaves the seed as typed."""
    data = {name: request.form.get(name) for name in FIELDS if request.form.get(name) is not None}
    if request.form.get("random_seed"):
        data["seed"] = None
    data.setdefault("prompt", "")
    if not data["prompt"].strip():
        data["prompt"] = ""
    return data


def init_image(request: Request) -> InitImage | None:
    """The init image: an upload, or one of the user's own images ("variant")."""
    upload = request.files.get("init_image")
    if upload is not None and upload.filename:
        return read_init_image(upload.read(), current_app.config["MAX_UPLOAD_PIXELS"])
    source = request.form.get("init_from", "").strip()
    if source:
        image = db.session.scalar(select(Image).join(Task).where(Image.uuid == source))
        if image is None or (image.task.user_id != current_user.id and not image.public):
            raise UploadError("That image cannot be used as a starting point.")
        return read_init_image(storage.absolute(image.path).read_bytes(),
                               current_app.config["MAX_UPLOAD_PIXELS"])
    return None


def task_or_404(task_uuid: str) -> Task:
    """The current user's task (staff: anyone's), else 404."""
    from daydream.services.tasks import find_for

    task = find_for(current_user, task_uuid)
    if task is None:
        abort(404, "No such task.")
    return task
