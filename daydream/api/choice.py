"""A request's model and LoRA tags checked against the library, for both APIs (no torch)."""

from __future__ import annotations

from flask import current_app

from daydream.api.common import ApiProblem
from daydream.api.info import model_name
from daydream.models import User
from daydream.services import model_settings
from daydream.services.model_choice import ModelRefused, check_loras
from daydream.services.models import Library, ModelEntry


def library() -> Library:
    """The app's model library, scanned now, with staff's settings (no restart needed)."""
    return model_settings.current()


def checkpoint(wanted: str | None, field: str, user: User) -> ModelEntry:
    """The library entry a client asks for (none: the caller's default model), or a 422
    naming the model and the reason."""
    try:
        return model_settings.resolve(user, wanted, model_name())
    except ModelRefused as error:
        raise ApiProblem(422, "model_not_found", str(error), {field: str(error)}) from error


def check_prompt_loras(prompt: object) -> None:
    """Refuse (422 via ParamError) a prompt naming a LoRA that is not installed."""
    if isinstance(prompt, str):
        check_loras(prompt, current_app.config.get("LORA_DIR"))
