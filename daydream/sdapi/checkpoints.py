"""The model library in A1111's shapes: ``/sd-models``, ``/loras`` and checkpoint choices."""

from __future__ import annotations

from flask import current_app

from daydream.api.choice import check_prompt_loras, checkpoint, library
from daydream.engine.prompt import list_loras
from daydream.models import User
from daydream.services.models import ModelEntry


def title(entry: ModelEntry) -> str:
    """A1111's checkpoint title: ``name [short hash]``."""
    return f"{entry.name} [{entry.hash}]" if entry.hash else entry.name


def sd_models() -> list[dict]:
    """Every enabled model, as A1111's ``/sdapi/v1/sd-models`` lists checkpoints."""
    return [{"title": title(entry), "model_name": entry.name, "hash": entry.hash,
             "sha256": None, "filename": entry.source, "config": None}
            for entry in library().enabled()]


def loras() -> list[dict]:
    """The LoRA files, as A1111's ``/sdapi/v1/loras`` lists them."""
    return [{"name": path.stem, "alias": path.stem, "path": str(path), "metadata": {}}
            for path in list_loras(current_app.config.get("LORA_DIR"))]


def check_request(body: dict, user: User) -> ModelEntry:
    """The model a request runs on (``override_settings.sd_model_checkpoint``, else the
    caller's default); an unusable model or LoRA tag is refused up front."""
    overrides = body.get("override_settings")
    wanted = overrides.get("sd_model_checkpoint") if isinstance(overrides, dict) else None
    entry = checkpoint(str(wanted) if wanted else None,
                       "override_settings.sd_model_checkpoint", user)
    check_prompt_loras(body.get("prompt"))
    return entry
