"""The OpenAPI 3.1 document of the native API, built from the schemas that validate requests."""

from __future__ import annotations

from daydream.api import schemas
from daydream.api.info import version
from daydream.engine.params import Limits

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "string"}}}

_ERRORS = {
    400: "The request is malformed or a parameter is out of range (details names each field).",
    401: "No API key, or an unknown or revoked one.",
    402: "Not enough credits; nothing was charged.",
    403: "The key's account is disabled.",
    404: "No such task or image among yours.",
    409: "The task has already finished.",
    413: "The request body is too large.",
    422: "This Idempotency-Key was already used for a different request; nothing was done.",
    429: "Too many requests (this key's rate limit, or your unfinished-task limit).",
    503: "The queue is full; try again later.",
}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Any unique string (a UUID) for this submission. Retrying with the same key "
    "and body returns the task the first attempt created, charged once; the same key with "
    "another body is refused (422). Remembered for DAYDREAM_IDEMPOTENCY_HOURS (24).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*codes: int) -> dict:
    """Error responses every operation can give, plus ``codes``."""
    out = {}
    for code in sorted({401, 403, 429, *codes}):
        headers = _RETRY_AFTER if code in (429, 503) else None
        out[str(code)] = _json({"$ref": "#/components/schemas/Error"}, _ERRORS[code], headers)
    return out


def _binary(mimetype: str, description: str) -> dict:
    return {"description": description,
            "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}}}


def _path_id(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _library_paths(image_id: dict) -> dict:
    """The library: every image across sessions, favourites, ZIP and delete."""
    params = [{"name": name, "in": "query", "required": False, "schema": schema}
              for name, schema in schemas.LIBRARY_PARAMETERS.items()]
    ids_body = {"required": True, "content": {"application/json": {"schema": schemas.IMAGE_IDS}}}
    return {
        "/api/v1/library": {"get": {
            "operationId": "listLibrary",
            "summary": "Your images across all sessions, newest first, filtered",
            "description": "Keyset-paged: pass next_cursor as before= for the next page.",
            "parameters": params,
            "responses": {"200": _json(_ref("LibraryPage"), "One page of images."),
                          **_errors(400)},
        }},
        "/api/v1/images/{image_id}/favourite": {"post": {
            "operationId": "favouriteImage", "summary": "Mark or unmark a favourite",
            "parameters": [image_id],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": schemas.FAVOURITE_REQUEST}}},
            "responses": {"200": _json(_ref("LibraryImage"), "The image."),
                          **_errors(400, 404)},
        }},
        "/api/v1/images/{image_id}": {"delete": {
            "operationId": "deleteImage", "summary": "Delete one image (file and row)",
            "parameters": [image_id],
            "responses": {"200": _json(schemas.DELETED, "Deleted."), **_errors(404)},
        }},
        "/api/v1/library/delete": {"post": {
            "operationId": "deleteImages", "summary": "Delete several images",
            "requestBody": ids_body,
            "responses": {"200": _json(schemas.DELETED, "How many were deleted."),
                          **_errors(400)},
        }},
        "/api/v1/library/zip": {"post": {
            "operationId": "downloadImagesZip", "summary": "Download several images as a ZIP",
            "requestBody": ids_body,
            "responses": {"200": _binary("application/zip", "A ZIP of the PNGs."),
                          **_errors(400, 404)},
        }},
    }


def build(limits: Limits) -> dict:
    """The whole document for a deployment with these limits."""
    task_id = _path_id("task_id", "The task's id (as returned on submission).")
    image_id = _path_id("image_id", "The image's id (from a task's images).")
    list_params = [{"name": name, "in": "query", "required": False, "schema": schema}
                   for name, schema in schemas.LIST_PARAMETERS.items()]
    paths = {
        "/api/v1/tasks": {
            "post": {
                "operationId": "submitTask", "summary": "Submit a task (or price it)",
                "description": "Validates, charges and queues a task; answers at once with "
                "its id, place in the queue, ETA and cost. With dry_run, only prices it.",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("TaskRequest")}}},
                "responses": {
                    "202": _json(_ref("Task"), "Accepted and queued.",
                                 {"Location": {"description": "The task's URL.",
                                               "schema": {"type": "string"}},
                                  "Idempotent-Replayed": {
                                      "description": "\"true\" when this answer is the "
                                      "task an earlier request with the same key created.",
                                      "schema": {"type": "string"}}}),
                    "200": _json(_ref("Quote"), "dry_run: the price and ETA, nothing charged."),
                    **_errors(400, 402, 413, 422, 503)},
            },
            "get": {
                "operationId": "listTasks", "summary": "List your tasks, newest first",
                "parameters": list_params,
                "responses": {"200": _json(_ref("TaskList"), "One page of tasks."),
                              **_errors(400)},
            },
        },
        "/api/v1/tasks/{task_id}": {"get": {
            "operationId": "getTask", "summary": "Check a task: state, progress, place, images",
            "parameters": [task_id],
            "responses": {"200": _json(_ref("Task"), "The task."), **_errors(404)},
        }},
        "/api/v1/tasks/{task_id}/cancel": {"post": {
            "operationId": "cancelTask",
            "summary": "Cancel a task (queued: refunded now; running: stops at its next step)",
            "parameters": [task_id],
            "responses": {"200": _json(_ref("Task"), "The task after the request."),
                          **_errors(404, 409)},
        }},
        "/api/v1/tasks/{task_id}.zip": {"get": {
            "operationId": "downloadTaskZip", "summary": "Download a task's PNGs as a ZIP",
            "parameters": [task_id],
            "responses": {"200": _binary("application/zip", "A ZIP of the PNGs."),
                          **_errors(404)},
        }},
        "/api/v1/images/{image_id}.png": {"get": {
            "operationId": "downloadImage",
            "summary": "Download one PNG (generation parameters in its metadata)",
            "parameters": [image_id],
            "responses": {"200": _binary("image/png", "The PNG."), **_errors(404)},
        }},
        "/api/v1/images/{image_id}.thumb.webp": {"get": {
            "operationId": "downloadThumbnail", "summary": "Download an image's thumbnail",
            "parameters": [image_id],
            "responses": {"200": _binary("image/webp", "The thumbnail."), **_errors(404)},
        }},
        **_library_paths(image_id),
        "/api/v1/account": {"get": {
            "operationId": "getAccount", "summary": "Your account: credits and limits",
            "responses": {"200": _json(_ref("Account"), "Your account."), **_errors()},
        }},
        "/api/v1/info": {"get": {
            "operationId": "getInfo",
            "summary": "The server: model, schedulers, limits, queue length",
            "responses": {"200": _json(_ref("Info"), "About this server."), **_errors()},
        }},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Daydream API", "version": version(),
                 "description": "Asynchronous image generation with your own API key, "
                 "credits and place in the fair queue. Send the key as "
                 "'Authorization: Bearer <key>'. Every error has the shape "
                 '{"error": {"code", "message", "details"}}.'},
        "paths": paths,
        "components": {
            "schemas": {
                "TaskRequest": schemas.task_request(limits), "Task": schemas.TASK,
                "TaskList": schemas.TASK_LIST, "Quote": schemas.QUOTE,
                "Image": schemas.IMAGE, "Account": schemas.ACCOUNT, "Info": schemas.INFO,
                "Error": schemas.ERROR, "LibraryImage": schemas.LIBRARY_IMAGE,
                "LibraryPage": schemas.LIBRARY_PAGE,
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API key from your account page."},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "Any user name, the API key as password."},
            },
        },
        "security": [{"bearer": []}, {"basic": []}],
    }
