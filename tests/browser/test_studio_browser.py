"""The studio in a real browser: generate, watch, cancel, download (demo model, real worker)."""

import io
import re
import zipfile

import pytest

from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

RECORD_PROGRESS = """() => {
  window.__progress = [];
  new MutationObserver((records) => records.forEach((r) => {
    if (r.target.getAttribute && r.target.getAttribute('role') === 'progressbar')
      window.__progress.push(Number(r.target.getAttribute('aria-valuenow')));
  })).observe(document.getElementById('progress-area'),
              {subtree: true, attributes: true, attributeFilter: ['aria-valuenow']});
}"""


def set_slider(page, name: str, value) -> None:
    page.evaluate(
        """([name, value]) => { const el = document.getElementById(name);
             el.value = value; el.dispatchEvent(new Event('input', {bubbles: true})); }""",
        [name, str(value)])


def test_generate_watch_cancel_download(page, live_server, worker, user):
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    assert page.is_visible("[data-testid=empty-state]")
    screenshot(page, "studio-empty")

    page.fill("#prompt", "a paper fox in a misty forest")
    for name, value in (("width", 64), ("height", 64), ("steps", 30), ("samples", 2)):
        set_slider(page, name, value)
    page.wait_for_selector("[data-testid=estimate]:has-text('to run')")
    estimate = page.inner_text("[data-testid=estimate]")
    assert re.match(r"\d+ credits? of your \d+ · .+ to run", estimate)
    page.evaluate(RECORD_PROGRESS)
    page.click("#run")
    page.wait_for_selector("[data-testid=thumbnail] >> nth=1", timeout=60_000)
    assert page.locator("[data-testid=task-card]").count() == 1
    assert page.locator("[data-testid=thumbnail]").count() == 2
    progress = page.evaluate("window.__progress")
    assert any(0 < value < 100 for value in progress), f"the bar never moved: {progress}"
    assert page.is_hidden("[data-testid=empty-state]")
    seed_text = page.inner_text("[data-testid=task-seed]")
    assert seed_text.isdigit() and int(seed_text) > 0
    screenshot(page, "studio")

    # A long second task: cancel it while it runs.
    for name, value in (("width", 256), ("height", 256), ("steps", 100), ("samples", 1)):
        set_slider(page, name, value)
    page.click("#run")
    page.wait_for_selector("[data-testid=progress] >> text=/Step [1-9]\\d* of/", timeout=30_000)
    screenshot(page, "studio-progress")
    page.click("[data-testid=progress] .cancel")
    newest_state = "[data-testid=task-card] >> nth=0 >> [data-testid=task-state]"
    page.wait_for_selector(f"{newest_state}:text('Cancelled')", timeout=30_000)
    assert "refunded" in page.inner_text("[data-testid=task-card] >> nth=0")

    # The ZIP of the first task holds both PNGs.
    with page.expect_download() as download_info:
        page.click("[data-testid=download-zip]")
    path = download_info.value.path()
    with zipfile.ZipFile(path) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 2

    # Reuse settings fills the panel back in.
    page.locator("[data-testid=task-card] >> nth=1 >> button[data-action=reuse]").click()
    assert page.input_value("#prompt") == "a paper fox in a misty forest"
    assert page.input_value("#seed") == seed_text


def test_validation_error_is_shown(page, live_server, user, app):
    app.config["MAX_PIXELS"] = 64 * 64 * 4
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    set_slider(page, "width", 512)
    page.wait_for_selector("#run:disabled")
    page.wait_for_selector("[data-testid=estimate]:has-text('at most 16384 pixels')")
    set_slider(page, "width", 64)
    set_slider(page, "height", 64)
    page.wait_for_selector("#run:enabled")
    page.fill("#prompt", "x" * 10)
    page.evaluate("document.getElementById('prompt').value = 'y'.repeat(1200)")
    page.click("#run")
    page.wait_for_selector("[data-testid=form-error]:visible")
    assert "prompt must be at most 1000 characters" in page.inner_text("[data-testid=form-error]")


def test_studio_on_a_phone(phone, live_server, worker, user):
    login(phone, live_server, user.email, PASSWORD)
    phone.goto(live_server + "/studio/")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.click("#open-panel")
    phone.wait_for_selector("#control-panel:not(.-translate-x-full)")
    phone.fill("#prompt", "a tiny boat")
    for name, value in (("width", 64), ("height", 64), ("steps", 4)):
        set_slider(phone, name, value)
    phone.click("#run")
    phone.wait_for_selector("#control-panel.-translate-x-full", state="attached")
    phone.wait_for_selector("[data-testid=thumbnail]", timeout=60_000)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(phone, "studio-phone")


def test_zip_streams_from_the_live_server(page, live_server, worker, user):
    login(page, live_server, user.email, PASSWORD)
    response = page.request.post(live_server + "/studio/tasks", multipart={
        "prompt": "stream me", "width": "64", "height": "64", "steps": "2", "samples": "2",
        "scheduler": "Euler", "random_seed": "1"},
        headers={"X-CSRFToken": "unused-in-tests"})
    assert response.status == 202
    task_id = response.json()["task"]["id"]
    page.wait_for_timeout(100)
    for _ in range(100):
        status = page.request.get(f"{live_server}/studio/tasks/{task_id}").json()
        if status["state"] == "done":
            break
        page.wait_for_timeout(100)
    zipped = page.request.get(f"{live_server}/studio/tasks/{task_id}.zip")
    assert zipped.headers["content-type"] == "application/zip"
    assert "content-length" not in zipped.headers, "streamed, not built in memory"
    with zipfile.ZipFile(io.BytesIO(zipped.body())) as archive:
        assert len(archive.namelist()) == 2


def test_a_long_session_shows_earlier_cards_on_request(page, live_server, user, app):
    from tests.library_factories import bulk_images

    with app.app_context():
        bulk_images(user.id, 40, per_task=1, sessionid=user.sessionid)
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    cards = page.locator("[data-testid=task-card]")
    assert cards.count() == 30
    page.click("[data-testid=show-earlier]")
    cards.nth(39).wait_for()
    assert cards.count() == 40
    assert page.locator("[data-testid=show-earlier]").is_hidden()
    # The oldest card came last, and its buttons work like the others' (reuse fills the form).
    oldest = cards.nth(39)
    assert "scale test 0" in oldest.inner_text()
    oldest.locator("button[data-action=reuse]").click()
    page.wait_for_function("() => document.getElementById('prompt').value === 'scale test 0'")
