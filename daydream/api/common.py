"""Request plumbing both APIs share: JSON bodies, base64 images, schema checks, errors."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import current_app, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from daydream.services import safetext
from daydream.services.uploads import InitImage, UploadError, read_init_image


class ApiProblem(Exception):
    """An error answer from inside a view: status, code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None,
                 headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}
        self.headers = headers


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def json_body(status: int = 400) -> dict[str, Any]:
    """The request body as a JSON object; anything else is an ApiProblem with ``status``."""
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug answers 413
    if not raw.strip():
        raise ApiProblem(status, "invalid_json", "Send a JSON object as the request body.")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ApiProblem(status, "invalid_json",
                         f"The request body is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ApiProblem(status, "invalid_json",
                         f"The request body must be a JSON object, not {_kind(data)}.")
    field = safetext.first_unstorable(data)
    if field:
        message = safetext.MESSAGE.format(field=field)
        raise ApiProblem(status, "invalid_text", message, {field: message})
    return data


_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true or false",
          int: "a whole number", float: "a number", type(None): "null"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _expected(schema_type: str | list[str]) -> str:
    names = {"string": "text", "integer": "a whole number", "number": "a number",
             "boolean": "true or false", "object": "an object", "array": "an array",
             "null": "null"}
    types = schema_type if isinstance(schema_type, list) else [schema_type]
    return " or ".join(names.get(t, t) for t in types)


def _describe(error: ValidationError, field: str) -> str:
    value, kind = error.validator_value, error.validator
    if kind == "type":
        return f"{field} must be {_expected(value)}, not {_kind(error.instance)}"
    if kind == "minimum":
        return f"{field} must be at least {value}"
    if kind == "maximum":
        return f"{field} must be at most {value}"
    if kind == "exclusiveMinimum":
        return f"{field} must be above {value}"
    if kind == "multipleOf":
        return f"{field} must be a multiple of {value}"
    if kind == "enum":
        return f"{field} must be one of: " + ", ".join(str(v) for v in value)
    if kind == "maxLength":
        return f"{field} must be at most {value} characters"
    if kind == "minLength":
        return f"{field} must not be empty"
    return f"{field}: {error.message}"


def schema_errors(schema: dict, data: Any) -> dict[str, str]:
    """Check ``data`` against a JSON Schema; field name → readable message."""
    errors: dict[str, str] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(data, dict) and name not in data:
                    errors.setdefault(name, f"{name} is required")
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for name in error.instance:
                if name not in known:
                    errors.setdefault(name, f"{name} is not a known parameter")
        else:
            field = ".".join(str(part) for part in error.absolute_path) or "body"
            errors.setdefault(field, _describe(error, field))
    return errors


def check(schema: dict, data: Any, status: int = 400) -> None:
    """Raise an ApiProblem listing every failing field unless ``data`` fits ``schema``."""
    errors = schema_errors(schema, data)
    if errors:
        raise ApiProblem(status, "invalid_parameters",
                         "Some parameters need fixing: " + "; ".join(errors.values()), errors)


def query_params(schemas: dict[str, dict]) -> dict[str, Any]:
    """The query parameters named in ``schemas``, digits turned into integers, checked."""
    params: dict[str, Any] = {}
    for name, spec in schemas.items():
        value = request.args.get(name)
        if value is None:
            continue
        if spec.get("type") == "integer":
            try:
                value = int(value)
            except ValueError:
                message = f"{name} must be a whole number"
                raise ApiProblem(400, "invalid_parameters", message, {name: message}) from None
        params[name] = value
    check({"type": "object", "properties": schemas}, params)
    return params


def decode_base64(value: str, field: str) -> bytes:
    """Bytes of a base64 string (a ``data:...;base64,`` prefix is fine); UploadError if not."""
    text = value.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    # Clients wrap lines, drop padding or use the URL-safe alphabet; accept all of those.
    text = "".join(text.split()).replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise UploadError(f"{field} is not valid base64.") from error
    if not data:
        raise UploadError(f"{field} is empty.")
    return data


def decode_image(value: str, field: str = "init_image") -> InitImage:
    """A base64 image, checked by its content and re-encoded (see ``read_init_image``)."""
    return read_init_image(decode_base64(value, field), current_app.config["MAX_UPLOAD_PIXELS"])


def decode_mask(value: str, field: str = "mask") -> InitImage:
    """A base64 inpainting mask, kept greyscale (white = repaint; see ``read_init_image``)."""
    return read_init_image(decode_base64(value, field), current_app.config["MAX_UPLOAD_PIXELS"],
                           mask=True)
