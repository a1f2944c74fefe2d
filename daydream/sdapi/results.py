"""Running an A1111 request as a queued task, waiting for it, and reading PNG metadata."""

from __future__ import annotations

import base64
import io
import time
import warnings

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from daydream.api.common import ApiProblem, decode_base64, decode_image
from daydream.api.info import model_name
from daydream.engine.metadata import parse_parameters, read_png_parameters
from daydream.extensions import db
from daydream.models import Task, TaskState, User
from daydream.sdapi.mapping import Request, a1111_parameters, info_json
from daydream.services import storage, tasks
from daydream.services.uploads import UploadError

POLL_SECONDS = 0.1


def b64(data: bytes) -> str:
    """Base64 text of some bytes."""
    return base64.b64encode(data).decode("ascii")


def wait(task: Task, timeout: float) -> bool:
    """Poll the task row until it is finished (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.refresh(task)
        finished = task.is_finished
        # End the transaction: the connection goes back to the pool while we sleep, and the
        # next poll starts afresh and sees what the worker committed.
        db.session.rollback()
        if finished:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_SECONDS, remaining))


def run(user: User, wanted: Request, img2img: bool, timeout: float) -> dict:
    """Submit, wait, and answer like A1111: ``{images, parameters, info}``."""
    init = decode_image(wanted.init_image, "init_images") if img2img else None
    task = tasks.submit(user, wanted.data, init=init, source="api")
    if not wait(task, timeout):
        try:
            tasks.cancel(task)  # the client gives up; nobody pays for what nobody receives
        except tasks.NotCancellable:
            pass  # it finished just now
        wait(task, 0)
        if task.state != TaskState.DONE.value:
            raise ApiProblem(504, "timeout", f"The task did not finish within {timeout} s; "
                             "it was cancelled and refunded.", {"task": task.uuid})
    if task.state == TaskState.FAILED.value:
        raise ApiProblem(500, "generation_failed", task.error or "The task failed.",
                         {"task": task.uuid})
    images, infotexts = [], []
    for image in task.images:
        png = storage.absolute(image.path).read_bytes()
        infotexts.append(read_png_parameters(png)["text"] or "")
        if wanted.send_images:
            images.append(b64(png))
    return {"images": images, "parameters": wanted.parameters,
            "info": info_json(task, infotexts, wanted, model_name())}


def png_info(encoded: str) -> dict:
    """A1111's png-info answer: the infotext, the other text chunks, the parsed fields."""
    data = decode_base64(encoded, "image")
    try:
        with warnings.catch_warnings():
            # Only the text chunks are read, never the pixels: size is no danger here.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                chunks = {key: value for key, value in image.info.items()
                          if isinstance(key, str) and isinstance(value, str)}
    except (UnidentifiedImageError, PILImage.DecompressionBombError, OSError, ValueError,
            SyntaxError, EOFError) as error:
        raise UploadError("image is not an image we can read.") from error
    text = chunks.pop("parameters", "")
    parsed = parse_parameters(text) if text.strip() else {}
    return {"info": text, "items": chunks, "parameters": a1111_parameters(parsed)}
