"""The studio's model and LoRA pickers in a real browser: pick a model (its usual size fills
in, its price shows), add a LoRA to the prompt, run, and see both on the result."""

from __future__ import annotations

import pytest

from daydream.engine.demo import DEMO_NAME
from daydream.engine.metadata import read_png_parameters
from daydream.extensions import db
from daydream.models import User
from daydream.services import model_settings
from tests.browser.conftest import login, screenshot
from tests.browser.test_studio_browser import set_slider
from tests.conftest import PASSWORD
from tests.model_library import XL, library_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(app_settings: dict, tmp_path) -> dict:
    from daydream.engine.demo_lora import build_demo_lora

    library_settings(app_settings, tmp_path)
    build_demo_lora(tmp_path / "loras" / "sparkle.safetensors")  # a real LoRA this time
    app_settings["MAX_PIXELS"] = 1024 * 1024
    return app_settings


@pytest.fixture
def lora_worker(app, demo_engine, worker, monkeypatch):
    """The test worker, finding LoRAs in this app's LoRA folder."""
    monkeypatch.setattr(demo_engine, "lora_dir", app.config["LORA_DIR"])
    return worker


def name_models(app, staff) -> None:
    with app.app_context():
        actor = db.session.get(User, staff.id)
        for name, title, price in ((DEMO_NAME, "Tiny demo", 1.0), (XL, "Juggernaut XL", 2.5)):
            entry = model_settings.current().get(name)
            model_settings.edit(actor, name, model_settings.Edit(
                title, entry.width, entry.height, price))


def test_pick_a_model_and_a_lora_and_see_them_on_the_result(page, live_server, app, user,
                                                             staff, lora_worker):
    name_models(app, staff)
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    picker = page.locator("[data-testid=model-picker]")
    assert picker.locator("option").all_inner_texts() == [
        "Tiny demo", "dreamshaper-8", "Juggernaut XL · price ×2.5"]
    assert "usual size 512×512 · price ×1" in page.inner_text("[data-testid=model-info]")

    # Choosing the SDXL model fills in its usual size and shows its price.
    picker.select_option(XL)
    assert page.input_value("#width") == "1024" and page.input_value("#height") == "1024"
    assert page.inner_text("#width-value") == "1024"
    info = page.inner_text("[data-testid=model-info]")
    assert info == "SDXL · usual size 1024×1024 · price ×2.5"
    screenshot(page, "studio-model-picker")

    # Back to the demo model (the one the test worker holds): its size comes back.
    picker.select_option(DEMO_NAME)
    assert page.input_value("#width") == "512"
    page.fill("#prompt", "a paper fox")
    page.locator("[data-testid=lora-picker]").select_option("sparkle")
    assert page.input_value("#prompt") == "a paper fox <lora:sparkle:0.8>"
    assert page.input_value("[data-testid=lora-picker]") == ""  # ready for another one
    for name, value in (("width", 64), ("height", 64), ("steps", 2)):
        set_slider(page, name, value)
    page.wait_for_selector("[data-testid=estimate]:has-text('to run')")
    page.click("#run")
    page.wait_for_selector("[data-testid=thumbnail]", timeout=60_000)

    card = page.locator("[data-testid=task-card]").first
    assert card.locator("[data-testid=task-model]").inner_text() == "Tiny demo"
    assert "a paper fox <lora:sparkle:0.8>" in card.inner_text()
    screenshot(page, "studio-model-and-lora")
    png_url = card.locator("a[target=_blank]").first.get_attribute("href")
    png = page.request.get(live_server + png_url).body()
    text = read_png_parameters(png)["text"]
    assert text.startswith("a paper fox <lora:sparkle:0.8>")
    assert f"Model: {DEMO_NAME}" in text

    # Reuse settings bring the model back into the picker.
    picker.select_option(XL)
    card.locator("button[data-action=reuse]").click()
    assert page.input_value("[data-testid=model-picker]") == DEMO_NAME
    assert page.inner_text("[data-testid=model-info]").endswith("price ×1")


def test_staff_manage_models_and_the_studio_follows_without_a_restart(page, live_server,
                                                                     staff):
    from tests.browser.test_accessibility import violations

    login(page, live_server, staff.email, PASSWORD)
    page.goto(live_server + "/admin/models")
    assert violations(page) == []
    xl = page.locator(f"[data-testid=model-row][data-model={XL}]")
    xl.locator("input[name$=-title]").fill("Juggernaut XL")
    xl.locator("input[name$=-price]").fill("2.5")
    xl.locator("button:has-text('Save')").click()
    page.wait_for_selector("[data-testid=flash]:has-text('saved')")
    xl = page.locator(f"[data-testid=model-row][data-model={XL}]")
    assert xl.locator("[data-testid=model-title]").inner_text() == "Juggernaut XL"
    assert xl.locator("[data-testid=model-price]").inner_text() == "×2.5"
    page.locator("[data-testid=model-row][data-model=dreamshaper-8] "
                 "[data-testid=model-action-disable]").click()
    page.wait_for_selector("[data-testid=flash]:has-text('dreamshaper-8 is disabled')")
    screenshot(page, "admin-models")

    page.goto(live_server + "/studio/")
    assert page.locator("[data-testid=model-picker] option").all_inner_texts() == [
        DEMO_NAME, "Juggernaut XL · price ×2.5"]
    assert violations(page) == []
