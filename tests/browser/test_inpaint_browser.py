"""Inpainting in a real browser: paint a mask with the mouse (and a finger on a phone), run,
watch progress, see the result and the mask on the card, reuse them (demo model, real worker)."""

import pytest
from PIL import Image

from tests.browser.conftest import login, screenshot
from tests.browser.test_studio_browser import set_slider
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def picture(tmp_path):
    """A colourful 256x192 PNG on disk, to upload as the starting image."""
    image = Image.new("RGB", (256, 192))
    for x in range(0, 256, 32):
        image.paste((x, 255 - x, 120), (x, 0, x + 32, 192))
    path = tmp_path / "start.png"
    image.save(path)
    return path


def paint_stroke(page, steps: int = 12) -> None:
    """Drag the mouse across the middle of the mask canvas (scrolled into the panel's view)."""
    canvas = page.locator("[data-testid=mask-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=steps)
    page.mouse.up()


def test_paint_a_mask_run_an_inpaint_and_reuse_it(page, live_server, worker, user, tmp_path):
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    page.fill("#prompt", "a red door in a stone wall")
    page.set_input_files("#init_image", str(picture(tmp_path)))
    page.wait_for_selector("[data-testid=mask-editor]:visible")
    page.check("#use_mask")
    page.wait_for_selector("[data-testid=mask-canvas]:visible")
    assert not page.evaluate("window.DaydreamMask.isPainted()")
    paint_stroke(page)
    assert page.evaluate("window.DaydreamMask.isPainted()")
    assert "will be repainted" in page.inner_text("#mask-status")
    # Eraser, invert and clear do what they say.
    page.click("[data-tool=eraser]")
    page.click("#mask-invert")
    page.click("#mask-clear")
    assert not page.evaluate("window.DaydreamMask.isPainted()")
    page.click("[data-tool=brush]")
    page.fill("#mask-size", "60")
    paint_stroke(page)
    for name, value in (("width", 64), ("height", 64), ("steps", 8), ("strength", 1),
                        ("mask_blur", 0)):
        set_slider(page, name, value)
    # 64×64 × 8 steps is one credit at the test price: wait for the quote of these settings.
    page.wait_for_selector("[data-testid=estimate]:has-text('1 credit of your')")
    screenshot(page, "mask-editor")
    shown_cost = int(page.get_attribute("[data-testid=estimate]", "data-cost"))

    page.click("#run")
    page.wait_for_selector("[data-testid=progress]", timeout=30_000)
    page.wait_for_selector("[data-testid=thumbnail]", timeout=120_000)
    card = page.locator("[data-testid=task-card]").first
    assert "inpaint strength 1" in card.inner_text()
    assert card.locator("[data-testid=task-mask]").count() == 1
    assert f"{shown_cost} credit" in card.inner_text(), "the card charges what the page showed"

    # Reuse brings back the starting image and the mask, not a silent switch to txt2img.
    page.evaluate("window.DaydreamMask.setImage(null)")
    card.locator("button[data-action=reuse]").click()
    page.wait_for_selector("#mask-status:has-text('will be repainted')")
    assert page.input_value("#init_task") == card.get_attribute("data-task")
    assert page.is_checked("#use_mask")
    assert page.input_value("#prompt") == "a red door in a stone wall"


def test_mask_editor_on_a_phone(phone, live_server, user, tmp_path):
    login(phone, live_server, user.email, PASSWORD)
    phone.goto(live_server + "/studio/")
    phone.click("#open-panel")
    phone.wait_for_selector("#control-panel:not(.-translate-x-full)")
    phone.set_input_files("#init_image", str(picture(tmp_path)))
    phone.check("#use_mask")
    canvas = phone.locator("[data-testid=mask-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for fraction in (0.3, 0.4, 0.5, 0.6):
        phone.touchscreen.tap(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    assert phone.evaluate("window.DaydreamMask.isPainted()"), "a finger paints too"
    assert box["width"] <= 375
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    panel_fits = phone.evaluate("""() => { const p = document.getElementById('control-panel');
        return p.scrollWidth <= p.clientWidth + 1; }""")
    assert panel_fits
    phone.locator("#mask-tools").scroll_into_view_if_needed()
    phone.screenshot(path=str(_shot_dir() / "mask-editor-phone.png"))


def _shot_dir():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

