"""Running an A1111 request as a queued task, waiting for it, and reading PNG metadata."""

from __future__ import annotations

import base64
import io
import warnings

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from daydream.api.common import ApiProblem, decode_base64, decode_image, decode_mask
from daydream.api.info import model_name
from daydream.engine.metadata import parse_parameters, read_png_parameters
from daydream.extensions import db
from daydream.models import Task, TaskState, User
from daydream.runtime import get_runtime
from daydream.sdapi.mapping import Request, a1111_parameters, info_json
from daydream.services import idempotency, storage, tasks
from daydream.services.models import ModelEntry
from daydream.services.uploads import UploadError, invert_mask


def b64(data: bytes) -> str:
    """Base64 text of some bytes."""
    return base64.b64encode(data).decode("ascii")


def wait(task: Task, timeout: float, submitted: bool = False) -> bool:
    """Sleep until the task's finish event (or ``timeout``); True once it is finished, with
    ``task`` read afresh. ``submitted``: the caller has just submitted it (so it is
    unfinished: no first look at the database beside the worker starting it)."""

    def finished() -> bool:
        db.session.refresh(task)
        done = task.is_finished
        # End the transaction: the connection goes back to the pool while we wait, and the
        # next check starts afresh and sees what the worker committed.
        db.session.rollback()
        return done

    done = get_runtime().state.wait_finished(task.uuid, timeout, finished,
                                             seen_unfinished=submitted)
    # Woken by the signal, the row still holds what the submit wrote: read it again.
    db.session.rollback()
    db.session.expire(task)
    return done


def run(user: User, wanted: Request, img2img: bool, timeout: float,
        once: tuple[str, str] | None = None, model: ModelEntry | None = None) -> dict:
    """Submit on ``model``, wait, and answer like A1111: ``{images, parameters, info}``.

    ``once`` is an (Idempotency-Key, body hash): a retry waits for the first call's task.
    ``model``: the library model asked for (None: the default).
    """
    init = decode_image(wanted.init_image, "init_images") if img2img else None
    mask = decode_mask(wanted.mask, "mask") if wanted.mask else None
    if mask is not None and wanted.invert_mask:
        mask = invert_mask(mask)

    def submit(claim=None) -> Task:
        return tasks.submit(user, wanted.data, init=init, source="api", claim=claim, mask=mask,
                            model=model)

    task, replayed = (submit(), False) if once is None else \
        idempotency.submit_once(user, *once, submit)
    if not wait(task, timeout, submitted=not replayed):
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
            "info": info_json(task, infotexts, wanted, task.model or model_name(),
                              model.hash if model is not None else None)}


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
