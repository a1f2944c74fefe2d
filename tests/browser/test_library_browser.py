"""The library and its lightbox in a real browser, on desktop and on a 375 px phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS, login, screenshot
from tests.browser.test_accessibility import violations
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def fits_width(page) -> bool:
    """Whether nothing on the page is wider than the viewport."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def stocked(user, make_images):
    """Three tasks of different shapes in the user's library."""
    make_images(user, 2, prompt="a lighthouse at dawn", width=128, height=64)
    make_images(user, 1, prompt="a tall tower", width=64, height=128)
    make_images(user, 1, prompt="a square garden", width=96, height=96)
    return user


@pytest.mark.parametrize("device", ["page", "phone"])
def test_library_and_lightbox(request, live_server, stocked, device):
    page = request.getfixturevalue(device)
    suffix = "" if device == "page" else "-phone"
    login(page, live_server, stocked.email, PASSWORD)
    page.goto(f"{live_server}/library/")
    assert page.locator("[data-testid=library-item]").count() == 4
    assert fits_width(page)
    assert violations(page) == []
    screenshot(page, f"library{suffix}")

    page.locator("[data-testid=open-image]").first.click()
    lightbox = page.locator("[data-testid=lightbox]")
    lightbox.wait_for(state="visible")
    assert "a square garden" in lightbox.inner_text()
    assert page.locator("#lightbox-position").inner_text() == "1 of 4"
    page.keyboard.press("ArrowRight")
    assert page.locator("#lightbox-position").inner_text() == "2 of 4"
    assert "a tall tower" in page.locator("[data-lightbox-field=prompt]").inner_text()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("f")
    favourite = page.locator("[data-testid=lightbox-favourite]")
    # A function, not an expression: the CSP refuses eval() of expression strings.
    page.wait_for_function("() => document.querySelector('[data-testid=lightbox-favourite]')"
                           ".getAttribute('aria-pressed') === 'true'")
    assert "★" in favourite.inner_text()
    page.locator("[data-testid=lightbox-image]").evaluate(
        "img => img.complete || new Promise(done => img.onload = done)")
    assert fits_width(page)
    assert violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"lightbox{suffix}.png"))  # the dialog as seen
    page.keyboard.press("Escape")
    lightbox.wait_for(state="hidden")

    page.goto(f"{live_server}/library/?favourites=1")
    assert page.locator("[data-testid=library-item]").count() == 1
    assert "a square garden" in page.locator("[data-testid=library-grid]").inner_text()


def test_new_pages_have_no_serious_accessibility_issue(app, page, live_server, stocked):
    from daydream.extensions import db
    from daydream.models import User
    from daydream.services import links

    with app.test_request_context():
        token = links.make_token(links.RESET, db.session.get(User, stocked.id))
    for path in ("/auth/forgot", f"/auth/reset/{token}", "/auth/reset/not-a-token"):
        page.goto(live_server + path)
        assert violations(page) == [], path
    login(page, live_server, stocked.email, PASSWORD)
    page.goto(f"{live_server}/library/")
    first = page.locator("[data-testid=open-image]").first.get_attribute("href")
    for path in (first, "/library/?q=nothing-matches", "/account/?tab=data", "/account/"):
        page.goto(live_server + path)
        assert violations(page) == [], path
    for theme in ("dark", "light"):
        page.emulate_media(color_scheme=theme)
        page.goto(f"{live_server}/library/")
        assert violations(page) == [], theme
