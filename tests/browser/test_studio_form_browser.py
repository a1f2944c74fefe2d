"""The studio's control panel in a real browser: the server's price against the balance,
an empty prompt, remembered settings, aspect presets, Ctrl/Cmd+Enter, upload errors."""

import pytest

from tests.browser.conftest import login
from tests.browser.test_studio_browser import set_slider
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

ESTIMATE = "[data-testid=estimate]"


def quoted(page) -> None:
    """Wait until the estimate shows a fresh price from the server."""
    page.wait_for_selector("[data-testid=estimate]:has-text('credit')")


def test_balance_against_price_and_run_disabled_when_short(page, live_server, make_user):
    poor = make_user("poor@example.com", credits=3)
    login(page, live_server, poor.email, PASSWORD)
    page.goto(live_server + "/studio/")
    page.fill("#prompt", "a lighthouse")
    for name, value in (("width", 512), ("height", 512), ("steps", 50)):
        set_slider(page, name, value)
    page.wait_for_selector("#run:disabled")
    text = page.inner_text(ESTIMATE)
    assert "needed; you have 3" in text and "ask an operator" in text
    for name, value in (("width", 64), ("height", 64), ("steps", 2)):
        set_slider(page, name, value)
    page.wait_for_selector("#run:enabled")
    assert "of your 3" in page.inner_text(ESTIMATE)


def test_empty_prompt_is_refused_and_the_placeholder_looks_like_one(page, live_server, user):
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    assert page.get_attribute("#prompt", "placeholder").startswith("e.g. ")
    assert page.evaluate("""() => getComputedStyle(document.getElementById('prompt'),
        '::placeholder').fontStyle""") == "italic"
    quoted(page)
    page.click("#run")
    page.wait_for_selector("[data-testid=form-error]:visible")
    assert "Write a prompt first" in page.inner_text("[data-testid=form-error]")
    assert page.locator("[data-testid=task-card]").count() == 0


def test_settings_are_remembered_presets_swap_and_ctrl_enter(page, live_server, worker, user):
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    page.fill("#prompt", "a quiet harbour")
    set_slider(page, "steps", 3)
    page.click("[data-aspect='16:9']")
    width, height = int(page.input_value("#width")), int(page.input_value("#height"))
    assert width > height and width % 8 == 0 and height % 8 == 0
    assert abs(width / height - 16 / 9) < 0.1
    page.click("#swap-size")
    assert (int(page.input_value("#width")), int(page.input_value("#height"))) == (height, width)
    page.click("[data-aspect='1:1']")
    set_slider(page, "width", 64)
    set_slider(page, "height", 64)
    page.select_option("#scheduler", "DDIM")
    quoted(page)
    page.focus("#prompt")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-testid=task-card]")
    page.reload()
    assert page.input_value("#prompt") == "a quiet harbour"
    assert page.input_value("#steps") == "3" and page.input_value("#scheduler") == "DDIM"
    assert page.input_value("#width") == "64"


def test_an_upload_error_goes_when_the_file_is_removed(page, live_server, user, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    page.fill("#prompt", "a boat")
    set_slider(page, "width", 64)
    set_slider(page, "height", 64)
    page.set_input_files("#init_image", str(bad))
    quoted(page)
    page.click("#run")
    page.wait_for_selector("[data-testid=form-error]:visible")
    assert "not an image" in page.inner_text("[data-testid=form-error]")
    page.click("#init-clear")
    assert page.is_hidden("[data-testid=form-error]")
