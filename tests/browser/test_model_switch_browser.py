"""The studio runs a task on the model picked, not only on the default: the SDXL demo model,
then the SD 1.x demo model with a LoRA, each seen on its card and in its PNG. Needs workers
that load a task's model (the worker side of issue 11); skipped until they do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daydream.engine.demo import DEMO_NAME, SDXL_DEMO_NAME
from daydream.engine.metadata import read_png_parameters
from daydream.extensions import db
from daydream.models import User
from daydream.services import model_settings
from tests.browser.conftest import login, screenshot
from tests.browser.test_studio_browser import set_slider
from tests.conftest import PASSWORD
from tests.model_library import any_enabled_model_runs

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not any_enabled_model_runs(),
    reason="a task runs on a second model once workers load a task's model (mworker)")]


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory) -> Path:
    """A models folder with the SD 1.x and the SDXL demo models (built offline)."""
    from daydream.engine.demo import build_demo_model
    from daydream.engine.demo_xl import build_sdxl_demo_model

    folder = tmp_path_factory.mktemp("demo-library")
    build_demo_model(folder / DEMO_NAME)
    build_sdxl_demo_model(folder / SDXL_DEMO_NAME)
    return folder


@pytest.fixture
def app_settings(app_settings: dict, tmp_path, demo_library) -> dict:
    from daydream.engine.demo_lora import build_demo_lora

    build_demo_lora(tmp_path / "loras" / "sparkle.safetensors")
    app_settings.update(MODELS_DIR=str(demo_library), LORA_DIR=str(tmp_path / "loras"),
                        MAX_PIXELS=1024 * 1024)
    return app_settings


@pytest.fixture
def any_model_worker(app):
    """The embedded worker, loading each task's model from the library."""
    from daydream.worker import Worker

    worker = Worker(app).start()
    worker.wait_ready(120)
    yield worker
    worker.stop()


def run(page, model: str, prompt: str, lora: str | None = None):
    """Pick ``model`` (and a LoRA), shrink the image, run; the newest card when done."""
    page.locator("[data-testid=model-picker]").select_option(model)
    page.fill("#prompt", prompt)
    if lora:
        page.locator("[data-testid=lora-picker]").select_option(lora)
    for name, value in (("width", 64), ("height", 64), ("steps", 2)):
        set_slider(page, name, value)
    page.wait_for_selector("[data-testid=estimate]:has-text('to run')")
    before = page.locator("[data-testid=task-card]").count()
    page.click("#run")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=task-card]').length > n",
                           arg=before)
    card = page.locator("[data-testid=task-card]").first
    card.locator("[data-testid=thumbnail]").wait_for(timeout=120_000)
    return card


def infotext(page, base: str, card) -> str:
    png_url = card.locator("a[target=_blank]").first.get_attribute("href")
    return read_png_parameters(page.request.get(base + png_url).body())["text"]


def test_each_task_runs_on_the_model_picked(page, live_server, app, user, staff,
                                            any_model_worker):
    with app.app_context():
        actor = db.session.get(User, staff.id)
        entry = model_settings.current().get(SDXL_DEMO_NAME)
        model_settings.edit(actor, SDXL_DEMO_NAME, model_settings.Edit(
            "Demo XL", entry.width, entry.height, 2))
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")

    card = run(page, SDXL_DEMO_NAME, "a lighthouse")
    assert card.locator("[data-testid=task-model]").inner_text() == "Demo XL"
    assert f"Model: {SDXL_DEMO_NAME}" in infotext(page, live_server, card)
    assert "2 credits" in card.locator("[data-testid=task-cost]").inner_text()  # ×2

    card = run(page, DEMO_NAME, "a paper fox", lora="sparkle")
    assert card.locator("[data-testid=task-model]").inner_text() == DEMO_NAME
    text = infotext(page, live_server, card)
    assert text.startswith("a paper fox <lora:sparkle:0.8>")
    assert re.search(rf"Model: {DEMO_NAME}(,|$)", text), text
    assert "1 credit" in card.locator("[data-testid=task-cost]").inner_text()
    screenshot(page, "studio-two-models")
