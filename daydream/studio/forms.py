"""Reading the studio form into engine parameters and an optional init image."""

from __future__ import annotations

from flask import Request, abort, current_app
from flask_login import current_user

from daydream.api.info import model_name
from daydream.engine.errors import ParamError
from daydream.generation.request import PARAMS
from daydream.models import Task
from daydream.services import access, model_settings, storage
from daydream.services.model_choice import ModelRefused
from daydream.services.models import ModelEntry
from daydream.services.uploads import InitImage, UploadError, read_init_image

# The form's fields are the request's parameters the studio shows (one definition).
FIELDS = tuple(spec.name for spec in PARAMS if spec.in_studio)
# Checkboxes send nothing when unticked: absent means false, not "the default".
CHECKBOXES = tuple(spec.name for spec in PARAMS if spec.in_studio and spec.kind == "bool")


def generation_fields(request: Request) -> dict:
    """The generation fields of the form; an unticked "random" leaves the seed as typed."""
    data = {name: request.form.get(name) for name in FIELDS if request.form.get(name) is not None}
    for name in CHECKBOXES:
        data[name] = name in request.form
    if request.form.get("random_seed"):
        data["seed"] = None
    data.setdefault("prompt", "")
    return data


def chosen_model(request: Request) -> ModelEntry:
    """The model picked in the form (none: the user's default), or ParamError saying why
    it cannot be used."""
    try:
        return model_settings.resolve(current_user, request.form.get("model"), model_name())
    except ModelRefused as error:
        raise ParamError("model", str(error)) from error


def mask_image(request: Request) -> InitImage | None:
    """The inpainting mask painted in the studio (a PNG, white = repaint), if any."""
    upload = request.files.get("mask")
    if upload is None or not upload.filename:
        return None
    return read_init_image(upload.read(), current_app.config["MAX_UPLOAD_PIXELS"], mask=True)


def init_image(request: Request) -> InitImage | None:
    """The init image: an upload, or one of the user's own images ("variant")."""
    upload = request.files.get("init_image")
    if upload is not None and upload.filename:
        return read_init_image(upload.read(), current_app.config["MAX_UPLOAD_PIXELS"])
    task_uuid = request.form.get("init_task", "").strip()
    if task_uuid:  # "reuse" of an img2img or inpaint task: its own init image again
        task = task_or_404(task_uuid)
        if not task.init_image:
            raise UploadError("That task has no starting image to reuse.")
        return read_init_image(storage.absolute(task.init_image).read_bytes(),
                               current_app.config["MAX_UPLOAD_PIXELS"])
    source = request.form.get("init_from", "").strip()
    if source:
        image = access.find_image(current_user, source)
        if image is None:
            raise UploadError("That image cannot be used as a starting point.")
        return read_init_image(storage.absolute(image.path).read_bytes(),
                               current_app.config["MAX_UPLOAD_PIXELS"])
    return None


def task_or_404(task_uuid: str) -> Task:
    """The current user's task (staff: anyone's), else 404."""
    task = access.find_task(current_user, task_uuid)
    if task is None:
        abort(404, "No such task.")
    return task
