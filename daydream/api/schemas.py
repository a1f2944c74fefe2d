"""JSON Schemas of the native API: the same dicts validate requests and fill the OpenAPI spec.

Request schemas follow the deployment's limits, so the spec a server publishes states the
bounds it enforces. Limits that span fields (width × height) are checked by the service.
"""

from __future__ import annotations

from daydream.engine.params import MAX_SEED, SCHEDULERS, Limits
from daydream.models import TaskState

STATES = [state.value for state in TaskState]
MAX_PER_PAGE = 100


def task_request(limits: Limits) -> dict:
    """The body of ``POST /api/v1/tasks``: every studio setting, an init image, dry_run."""
    side = {"type": "integer", "minimum": limits.min_side, "maximum": limits.max_side,
            "multipleOf": 8, "default": 512}
    text = {"type": "string", "maxLength": limits.max_prompt_chars}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["prompt"],
        "properties": {
            "prompt": {**text, "description": "What the image should show."},
            "negative_prompt": {"type": ["string", "null"], "maxLength": limits.max_prompt_chars,
                                "description": "What it should not show.", "default": ""},
            "width": {**side, "description": f"Pixels; width × height ≤ {limits.max_pixels}."},
            "height": {**side, "description": f"Pixels; width × height ≤ {limits.max_pixels}."},
            "steps": {"type": "integer", "minimum": limits.min_steps,
                      "maximum": limits.max_steps, "default": 20},
            "cfg_scale": {"type": "number", "minimum": limits.min_cfg,
                          "maximum": limits.max_cfg, "default": 7,
                          "description": "Guidance: how strictly to follow the prompt."},
            "samples": {"type": "integer", "minimum": 1, "maximum": limits.max_samples,
                        "default": 1, "description": "Images to make, with seeds seed, seed+1…"},
            "seed": {"type": ["integer", "null"], "minimum": -1, "maximum": MAX_SEED,
                     "default": None, "description": "null or -1 for a random seed."},
            "scheduler": {"type": "string", "enum": list(SCHEDULERS), "default": "Euler a"},
            "strength": {"type": "number", "exclusiveMinimum": 0,
                         "maximum": limits.max_strength, "default": 0.75,
                         "description": "img2img only: how much of the init image to repaint."},
            "init_image": {"type": ["string", "null"], "default": None,
                           "description": "A base64 PNG, JPEG, WebP, GIF or BMP (a data: URL "
                           "is fine). Makes the task image-to-image."},
            "dry_run": {"type": "boolean", "default": False,
                        "description": "Only price the task: cost and ETA, nothing charged."},
        },
    }


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
        "mode": {"type": "string", "enum": ["txt2img", "img2img"]},
        "source": {"type": "string"},
        "prompt": {"type": "string"}, "negative_prompt": {"type": "string"},
        "width": {"type": "integer"}, "height": {"type": "integer"},
        "steps": {"type": "integer"}, "cfg_scale": {"type": "number"},
        "samples": {"type": "integer"}, "scheduler": {"type": "string"},
        "strength": {"type": ["number", "null"]}, "seed": {"type": "integer"},
        "cost": {"type": "integer", "description": "Credits charged (refunded on failure)."},
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
        "cost": {"type": "integer"}, "credits": {"type": "integer"},
        "affordable": {"type": "boolean"},
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
            "per_minute": {"type": "integer"}, "burst": {"type": "integer"}}},
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
