"""A library of three models for web tests: the demo model (what the test worker runs), an
SD 1.x file and an SDXL file (headers only: the scan never reads weights), and a LoRA."""

from __future__ import annotations

from pathlib import Path

from daydream.engine.demo import DEMO_NAME
from daydream.services.model_choice import ModelRefused, choose_model
from daydream.services.models import Library, ModelEntry
from tests.test_models_library import CLIP, SDXL, UNET_IN, write_safetensors

SD1, XL = "dreamshaper-8", "juggernaut-xl"


def library_settings(app_settings: dict, tmp_path: Path, lora: bytes = b"lora") -> dict:
    """``app_settings`` with MODELS_DIR (two files), MODEL = the demo model, LORA_DIR."""
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    write_safetensors(models / f"{SD1}.safetensors",
                      {UNET_IN: (320, 4, 3, 3), CLIP: (49408, 768)}, b"sd1 weights")
    write_safetensors(models / f"{XL}.safetensors", {UNET_IN: (320, 4, 3, 3), SDXL: (1280,)},
                      b"xl weights")
    loras = tmp_path / "loras"
    loras.mkdir(exist_ok=True)
    (loras / "sparkle.safetensors").write_bytes(lora)
    app_settings.update(MODELS_DIR=str(models), LORA_DIR=str(loras), MODEL=DEMO_NAME)
    return app_settings


def any_enabled_model_runs() -> bool:
    """Whether ``choose_model`` accepts an enabled model no worker holds yet (per-task model
    choice, the worker side of issue 11); tests that run a task on a second model wait for it."""
    entries = {name: ModelEntry(name, name, "sd1", "file") for name in ("a", "b")}
    try:
        choose_model(Library(entries, "a"), "b", "a")
    except ModelRefused:
        return False
    return True
