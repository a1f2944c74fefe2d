"""Native API views (``/api/v1``): parse, call the service, serialize."""

from __future__ import annotations

import math
from pathlib import Path

from flask import jsonify, render_template, request, send_file

from daydream.api import auth, bp, choice, openapi, queries, schemas, serialize
from daydream.api.common import (
    ApiProblem,
    check,
    decode_image,
    decode_mask,
    json_body,
    query_params,
)
from daydream.api.info import server_info
from daydream.engine.errors import ParamError
from daydream.errors import api_error
from daydream.generation.request import Mode
from daydream.models import Task
from daydream.security import public_base_url
from daydream.services import access, archives, idempotency, statuses, storage, tasks
from daydream.services.uploads import UploadError

PUBLIC = {"api.openapi_json", "api.docs"}
NOT_GENERATION_FIELDS = ("init_image", "mask", "dry_run", "model")


@bp.before_request
def require_key():
    """Every API call but the spec and the docs page needs a valid key within its rate."""
    if request.endpoint not in PUBLIC:
        return auth.authenticate()
    return None


@bp.errorhandler(ApiProblem)
def problem(error: ApiProblem):
    """An error raised by a view, in the one error shape."""
    return api_error(error.status, error.code, str(error), error.details, error.headers)


@bp.errorhandler(ParamError)
def invalid_parameters(error: ParamError):
    """Parameters the service refused (e.g. width × height over the pixel limit)."""
    return api_error(400, "invalid_parameters",
                     "Some parameters need fixing: " + "; ".join(error.errors.values()),
                     error.errors)


@bp.errorhandler(UploadError)
def invalid_image(error: UploadError):
    """An init image that is not valid base64 or not an image we accept."""
    return api_error(400, "invalid_image", str(error), {"init_image": str(error)})


@bp.errorhandler(tasks.SubmissionRefused)
def refused(error: tasks.SubmissionRefused):
    """Not enough credits, too many tasks, or a full queue: nothing was charged."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return api_error(error.status, error.code, str(error), headers=headers)


def _task_or_404(task_id: str) -> Task:
    task = access.find_task(auth.current(), task_id)
    if task is None:
        raise ApiProblem(404, "not_found", "No such task among yours.")
    return task


@bp.get("/v1/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document of this API (public)."""
    return jsonify(openapi.build(tasks.limits()))


@bp.get("/docs")
def docs():
    """The API documentation page, with curl and Python examples."""
    spec = openapi.build(tasks.limits())
    return render_template("api/docs.html", spec=spec, base_url=public_base_url())


@bp.post("/v1/tasks")
def submit_task():
    """Submit a task: 202 with its id, state, place in the queue, ETA and cost."""
    body = json_body()
    check(schemas.task_request(tasks.limits()), body)
    user = auth.current()
    model = choice.checkpoint(body.get("model"), "model", user)
    choice.check_prompt_loras(body.get("prompt"))
    init = decode_image(body["init_image"]) if body.get("init_image") else None
    mask = decode_mask(body["mask"], "mask") if body.get("mask") else None
    data = {k: v for k, v in body.items() if k not in NOT_GENERATION_FIELDS}
    if body.get("dry_run"):
        quote = tasks.quote(data, Mode.of(init is not None, mask is not None), model)
        return jsonify(serialize.quote_view(quote, user))
    raw_key = request.headers.get(idempotency.HEADER)
    if raw_key is None:
        task, replayed = tasks.submit(user, data, init=init, source="api", mask=mask,
                                      model=model), False
    else:
        task, replayed = idempotency.submit_once(
            user, _idempotency_key(raw_key), idempotency.fingerprint(body),
            lambda claim: tasks.submit(user, data, init=init, source="api", claim=claim,
                                       mask=mask, model=model))
    headers = {"Location": f"/api/v1/tasks/{task.uuid}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(serialize.task_view(tasks.latest(task))), 202, headers


def _idempotency_key(raw: str) -> str:
    try:
        return idempotency.check_key(raw)
    except idempotency.InvalidKey as error:
        raise ApiProblem(400, "invalid_idempotency_key", str(error)) from error


@bp.errorhandler(idempotency.KeyReused)
def idempotency_key_reused(error: idempotency.KeyReused):
    """The same Idempotency-Key with a different request body: nothing was submitted."""
    return api_error(422, "idempotency_key_reused", str(error))


@bp.get("/v1/tasks")
def list_tasks():
    """Your tasks, newest first, optionally of one state, a page at a time."""
    params = query_params(schemas.LIST_PARAMETERS)
    page, per_page = params.get("page", 1), params.get("per_page", 20)
    rows, total = queries.list_tasks(auth.current(), params.get("state"), page, per_page)
    where = statuses.positions()
    return jsonify(tasks=[serialize.task_view(task, where) for task in rows], page=page,
                   per_page=per_page, total=total, pages=math.ceil(total / per_page))


@bp.get("/v1/tasks/<task_id>")
def get_task(task_id: str):
    """One task: state, progress, place in the queue, ETA, images with seeds and URLs."""
    return jsonify(serialize.task_view(_task_or_404(task_id)))


@bp.post("/v1/tasks/<task_id>/cancel")
def cancel_task(task_id: str):
    """Cancel a queued task (refunded at once) or stop a running one at its next step."""
    task = _task_or_404(task_id)
    try:
        tasks.cancel(task)
    except tasks.NotCancellable as error:
        raise ApiProblem(409, "not_cancellable", str(error)) from error
    return jsonify(serialize.task_view(task))


@bp.get("/v1/tasks/<task_id>.zip")
def task_zip(task_id: str):
    """A ZIP of the task's PNGs (metadata intact), streamed."""
    response = archives.zip_response(_task_or_404(task_id))
    if response is None:
        raise ApiProblem(404, "no_images", "This task has no images to download.")
    return response


def _image_file(image_id: str, thumb: bool) -> Path:
    image = queries.image_for(auth.current(), image_id)
    path = storage.absolute(image.thumb_path if thumb else image.path) if image else None
    if path is None or not path.is_file():
        raise ApiProblem(404, "not_found", "No such image among yours.")
    return path


@bp.get("/v1/images/<image_id>.png")
def image_png(image_id: str):
    """One full PNG, with its generation parameters in the metadata."""
    return send_file(_image_file(image_id, thumb=False), mimetype="image/png")


@bp.get("/v1/images/<image_id>.thumb.webp")
def image_thumb(image_id: str):
    """One image's thumbnail."""
    return send_file(_image_file(image_id, thumb=True), mimetype="image/webp")


@bp.get("/v1/account")
def account():
    """Your account: credits, limits and rate limit."""
    return jsonify(serialize.account_view(auth.current(), auth.current_key()))


@bp.get("/v1/info")
def info():
    """The server: model, schedulers, limits, queue length."""
    return jsonify(server_info())
