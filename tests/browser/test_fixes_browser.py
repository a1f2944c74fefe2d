"""Studio and site fixes seen in a real browser: sticky Run, theme switch, 375 px pages."""

from __future__ import annotations

import pytest

from daydream.extensions import db
from daydream.models import User
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def current_sessionid(app, user) -> str:
    """The user's login session id after logging in (the timeline's scope)."""
    with app.app_context():
        return db.session.get(User, user.id).sessionid


def test_run_stays_in_view_with_a_long_timeline(app, page, live_server, user, make_images):
    login(page, live_server, user.email, PASSWORD)
    sessionid = current_sessionid(app, user)
    for number in range(12):
        make_images(user, 2, prompt=f"timeline entry {number}", sessionid=sessionid)
    page.goto(f"{live_server}/studio/")
    assert page.locator("[data-testid=task-card]").count() == 12
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(100)
    box = page.locator("#run").bounding_box()
    height = page.evaluate("window.innerHeight")
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= height, box
    panel = page.locator("#control-panel").bounding_box()
    assert panel["y"] + panel["height"] <= height + 1  # no tall empty box hanging below


def test_thumbnails_keep_their_aspect_ratio(app, page, live_server, user, make_images):
    login(page, live_server, user.email, PASSWORD)
    make_images(user, 1, prompt="wide", width=128, height=64,
                sessionid=current_sessionid(app, user))
    page.goto(f"{live_server}/studio/")
    thumb = page.locator("[data-testid=thumbnail]").first
    thumb.evaluate("img => img.complete || new Promise(done => img.onload = done)")
    box = thumb.bounding_box()
    assert abs(box["width"] / box["height"] - 2) < 0.05, box


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_theme_switch_overrides_the_system_and_is_remembered(browser, live_server):
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(f"{live_server}/")
    light = background(page)
    toggle = page.locator("[data-testid=theme-toggle]")
    assert "System" in toggle.inner_text()
    toggle.click()
    assert "Dark" in toggle.inner_text() and background(page) != light
    dark = background(page)
    page.reload()
    assert background(page) == dark and "Dark" in toggle.inner_text()
    toggle.click()
    assert "Light" in toggle.inner_text() and background(page) == light
    toggle.click()
    assert "System" in toggle.inner_text()
    page.emulate_media(color_scheme="dark")
    assert background(page) == dark  # following the system again
    context.close()


PUBLIC = ["/", "/docs", "/docs/", "/gallery", "/terms", "/auth/login", "/auth/register",
          "/auth/forgot", "/api/docs"]
SIGNED_IN = ["/studio/", "/library/", "/account/", "/account/?tab=settings",
             "/account/?tab=credits", "/account/?tab=keys", "/account/?tab=data"]


def test_every_page_fits_a_phone(phone, live_server, user, make_images):
    make_images(user, 3, prompt="a rather long prompt " * 8, width=128, height=64)
    too_wide = []
    for path in PUBLIC:
        phone.goto(live_server + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            too_wide.append((path, width))
    login(phone, live_server, user.email, PASSWORD)
    for path in SIGNED_IN:
        phone.goto(live_server + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            too_wide.append((path, width))
    assert too_wide == []
