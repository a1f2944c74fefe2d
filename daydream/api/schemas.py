"""JSON Schemas of the native API: the same dicts validate requests and fill the OpenAPI spec.

Request schemas follow the deployment's limits, so the spec a server publishes states the
bounds it enforces. Limits that span fields (width × height) are checked by the service.
"""

from __future__ import annotations

from daydream.engine.params import MAX_SEED, Limits
from daydream.generation.request import ALL_MODES, PARAMS, Mode, Param
from daydream.models import TaskState
from daydream.models.base import MAX_ID

STATES = [state.value for state in TaskState]
MAX_PER_PAGE = 100


_JSON_TYPES = {"text": "string", "int": "integer", "float": "number", "bool": "boolean",
               "choice": "string"}


def param_schema(spec: Param, limits: Limits) -> dict:
    """The JSON Schema of one request parameter, from its definition."""
    if spec.kind == "seed":
        schema: dict = {"type": ["integer", "null"], "minimum": -1, "maximum": MAX_SEED}
    else:
        schema = {"type": _JSON_TYPES[spec.kind]}
    low, high = spec.bound("minimum", limits), spec.bound("maximum", limits)
    if spec.kind == "text":
        schema["maxLength"] = high
        if spec.required:
            schema["minLength"] = 1
    elif spec.kind in ("int", "float"):
        schema["exclusiveMinimum" if spec.exclusive_minimum else "minimum"] = low
        schema["maximum"] = high
        if spec.multiple_of:
            schema["multipleOf"] = spec.multiple_of
    elif spec.kind == "choice":
        schema["enum"] = list(spec.choices)
    if spec.name == "negative_prompt":
        schema["type"] = ["string", "null"]
    modes = "" if spec.modes == ALL_MODES else " Applies to: " + ", ".join(
        sorted(mode.value for mode in spec.modes)) + "."
    schema["description"] = spec.help + modes
    schema["default"] = spec.default
    return schema


def task_request(limits: Limits) -> dict:
    """The body of ``POST /api/v1/tasks``: every request parameter, images, model, dry_run."""
    properties = {spec.name: param_schema(spec, limits) for spec in PARAMS}
    properties["width"]["description"] += f" width × height ≤ {limits.max_pixels}."
    properties.update({
        "init_image": {"type": ["string", "null"], "default": None,
                       "description": "A base64 PNG, JPEG, WebP, GIF or BMP (a data: URL is "
                       "fine). Makes the task image-to-image."},
        "mask": {"type": ["string", "null"], "default": None,
                 "description": "Inpainting: a base64 image the size of init_image (any "
                 "size is resized), white where to repaint, black where to keep; a "
                 "transparent PNG's painted pixels count as white. Makes the task inpaint."},
        "model": {"type": ["string", "null"], "maxLength": 200, "default": None,
                  "description": "A model of the library by name, `name [hash]` or "
                  "hash (GET /sdapi/v1/sd-models); null: your default model (set with "
                  "POST /sdapi/v1/options), else the server's. Its price factor scales the "
                  "cost. Unknown or disabled models are refused with 422."},
        "dry_run": {"type": "boolean", "default": False,
                    "description": "Only price the task: cost and ETA, nothing charged."},
    })
    return {"type": "object", "additionalProperties": False, "required": ["prompt"],
            "properties": properties}


# Query parameters of GET /api/v1/tasks (validated after turning digits into integers).
LIST_PARAMETERS = {
    "state": {"type": "string", "enum": STATES, "description": "Only tasks in this state."},
    "page": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
}

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "object"}},
    }},
}

IMAGE = {
    "type": "object",
    "required": ["id", "seed", "width", "height", "url", "thumb_url"],
    "properties": {
        "id": {"type": "string"}, "seed": {"type": "integer"}, "width": {"type": "integer"},
        "height": {"type": "integer"}, "nsfw": {"type": "boolean"},
        "public": {"type": "boolean"}, "url": {"type": "string"},
        "thumb_url": {"type": "string"},
    },
}

TASK = {
    "type": "object",
    "required": ["id", "state", "mode", "position", "eta", "cost", "seed", "progress", "images"],
    "properties": {
        "id": {"type": "string"},
        "state": {"type": "string", "enum": STATES},
        "mode": {"type": "string", "enum": [mode.value for mode in Mode]},
        "source": {"type": "string"},
        "prompt": {"type": "string"}, "negative_prompt": {"type": "string"},
        "width": {"type": "integer"}, "height": {"type": "integer"},
        "steps": {"type": "integer"}, "cfg_scale": {"type": "number"},
        "samples": {"type": "integer"}, "scheduler": {"type": "string"},
        "strength": {"type": ["number", "null"]}, "seed": {"type": "integer"},
        "has_init_image": {"type": "boolean"}, "has_mask": {"type": "boolean"},
        "model": {"type": ["string", "null"], "description": "The library model it runs on."},
        "cost": {"type": "integer", "description": "Credits charged (the model's price factor "
                 "included; refunded on failure)."},
        "refunded": {"type": "integer", "description": "Credits given back: all of a "
                     "failure; a running task cancelled keeps the share of steps that ran."},
        "position": {"type": ["integer", "null"], "description": "1-based place in the queue."},
        "eta": {"type": ["number", "null"], "description": "Seconds until it should be done."},
        "error": {"type": ["string", "null"]},
        "progress": {"type": "object", "required": ["step", "total", "fraction"], "properties": {
            "step": {"type": "integer"}, "total": {"type": "integer"},
            "fraction": {"type": "number", "minimum": 0, "maximum": 1}}},
        "created_at": _NULLABLE_TIME, "started_at": _NULLABLE_TIME,
        "finished_at": _NULLABLE_TIME, "seconds": {"type": ["number", "null"]},
        "images": {"type": "array", "items": IMAGE},
        "zip_url": {"type": ["string", "null"]},
    },
}

# Every request parameter is echoed on the task (seed: the real one; strength may be null).
for _spec in PARAMS:
    TASK["properties"].setdefault(_spec.name, {"type": _JSON_TYPES.get(_spec.kind, "integer")})

TASK_LIST = {
    "type": "object",
    "required": ["tasks", "page", "per_page", "total", "pages"],
    "properties": {"tasks": {"type": "array", "items": TASK}, "page": {"type": "integer"},
                   "per_page": {"type": "integer"}, "total": {"type": "integer"},
                   "pages": {"type": "integer"}},
}

QUOTE = {
    "type": "object",
    "required": ["dry_run", "cost", "eta", "credits", "affordable", "params"],
    "properties": {
        "dry_run": {"const": True}, "mode": {"type": "string"},
        "cost": {"type": "integer", "description": "Credits, the model's price factor "
                 "included."},
        "credits": {"type": "integer"}, "affordable": {"type": "boolean"},
        "model": {"type": ["object", "null"], "properties": {
            "name": {"type": "string"}, "title": {"type": "string"},
            "price_factor": {"type": "number"}}},
        "eta": {"type": "number", "description": "Seconds from now until it would be done."},
        "queue_seconds": {"type": "number"}, "run_seconds": {"type": "number"},
        "params": {"type": "object"},
    },
}

LIMITS = {
    "type": "object",
    "properties": {name: {"type": "number"} for name in (
        "max_prompt_chars", "max_pixels", "min_side", "max_side", "min_steps", "max_steps",
        "min_cfg", "max_cfg", "max_samples", "queue_max", "queue_max_per_user",
        "max_upload_bytes")},
}

ACCOUNT = {
    "type": "object",
    "required": ["id", "email", "credits", "limits"],
    "properties": {
        "id": {"type": "string"}, "email": {"type": "string"},
        "display_name": {"type": "string"}, "role": {"type": "string"},
        "credits": {"type": "integer"}, "unfinished_tasks": {"type": "integer"},
        "limits": LIMITS,
        "rate_limit": {"type": "object", "properties": {
            "per_minute": {"type": "integer"}, "burst": {"type": "integer"},
            "account_per_minute": {"type": "integer"}}},
        "key": {"type": "object", "properties": {
            "name": {"type": "string"}, "prefix": {"type": "string"}}},
    },
}

INFO = {
    "type": "object",
    "required": ["model", "schedulers", "limits", "queue"],
    "properties": {
        "name": {"type": "string"}, "version": {"type": "string"},
        "model": {"type": "object", "properties": {
            "name": {"type": "string"}, "demo": {"type": "boolean"}}},
        "models": {"type": "array", "items": {"type": "object"}},
        "schedulers": {"type": "array", "items": {"type": "string"}},
        "limits": LIMITS,
        "queue": {"type": "object", "properties": {
            "waiting": {"type": "integer"}, "running": {"type": "integer"},
            "max": {"type": "integer"}, "wait_seconds": {"type": "number"}}},
        "pricing": {"type": "object", "properties": {
            "credit_pixel_steps": {"type": "integer"}}},
    },
}

# The library (GET /api/v1/library): filters as query parameters, a keyset cursor.
LIBRARY_PARAMETERS = {
    "q": {"type": "string", "maxLength": 200, "description": "Text the prompt contains."},
    "mode": {"type": "string", "enum": ["txt2img", "img2img"]},
    "model": {"type": "string", "maxLength": 200},
    "size": {"type": "string", "pattern": "^[0-9]{1,5}x[0-9]{1,5}$",
             "description": "Width x height, e.g. 512x512."},
    "from": {"type": "string", "format": "date",
             "description": "Made on or after this day (UTC), e.g. 2026-01-31."},
    "to": {"type": "string", "format": "date",
           "description": "Made on or before this day (UTC)."},
    "favourites": {"type": "string", "enum": ["1", "0", "true", "false"],
                   "description": "1: favourites only."},
    "before": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
               "description": "The next_cursor of the previous page."},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 48},
}

LIBRARY_IMAGE = {
    "type": "object",
    "required": [*IMAGE["required"], "favourite", "task_id", "prompt", "created_at"],
    "properties": {
        **IMAGE["properties"], "favourite": {"type": "boolean"}, "index": {"type": "integer"},
        "task_id": {"type": "string"}, "mode": {"type": "string"},
        "model": {"type": ["string", "null"]}, "prompt": {"type": "string"},
        "negative_prompt": {"type": "string"}, "steps": {"type": "integer"},
        "cfg_scale": {"type": "number"}, "scheduler": {"type": "string"},
        "strength": {"type": ["number", "null"]}, "samples": {"type": "integer"},
        "source": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
        "zip_url": {"type": ["string", "null"]},
    },
}

LIBRARY_PAGE = {
    "type": "object",
    "required": ["images", "next_cursor"],
    "properties": {"images": {"type": "array", "items": LIBRARY_IMAGE},
                   "next_cursor": {"type": ["integer", "null"],
                                   "description": "Pass as before= for the next page."},
                   "total": {"type": "integer", "description": "All your images."}},
}

FAVOURITE_REQUEST = {
    "type": "object", "additionalProperties": False, "required": ["favourite"],
    "properties": {"favourite": {"type": "boolean"}},
}

IMAGE_IDS = {
    "type": "object", "additionalProperties": False, "required": ["ids"],
    "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": 1000,
                           "items": {"type": "string", "pattern": "^[A-Za-z0-9]{1,42}$",
                                     "description": "An image id."}}},
}

DELETED = {"type": "object", "required": ["deleted"],
           "properties": {"deleted": {"type": "integer"}}}
