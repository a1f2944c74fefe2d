"""Issue 12's walk-through: sign up, generate, log out and in, find the images in the library,
favourite and delete, reset the password from the mail received on loopback, delete the
account. Real worker on the demo model, real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.browser.test_studio_browser import set_slider

pytestmark = pytest.mark.browser

EMAIL = "walker@example.com"
FIRST_PASSWORD = "first long passphrase"
NEW_PASSWORD = "second long passphrase"


def log_out(page) -> None:
    """Press the nav's Log out button."""
    page.locator("nav form button", has_text="Log out").click()
    page.wait_for_url(re.compile(r"/$"))


def test_everything_is_kept(page, live_server, worker, mailbox):
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server}/auth/register")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", FIRST_PASSWORD)
    page.fill("input[name=confirm]", FIRST_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/auth/login$"))  # sign-up never says who had an account
    assert "/auth/verify/" in mailbox.wait_for(EMAIL).get_content()  # confirmation mail
    login(page, live_server, EMAIL, FIRST_PASSWORD)
    page.goto(f"{live_server}/studio/")

    page.fill("#prompt", "a lighthouse kept forever")
    for name, value in (("width", 128), ("height", 64), ("steps", 4), ("samples", 2)):
        set_slider(page, name, value)
    page.click("#run")
    page.wait_for_selector("[data-testid=thumbnail] >> nth=1", timeout=60_000)

    log_out(page)
    login(page, live_server, EMAIL, FIRST_PASSWORD)
    page.goto(f"{live_server}/studio/")
    page.click("nav >> text=Library")
    items = page.locator("[data-testid=library-item]")
    assert items.count() == 2
    assert "a lighthouse kept forever" in page.inner_text("[data-testid=library-grid]")

    items.first.locator("[data-testid=open-image]").click()
    page.locator("[data-testid=lightbox]").wait_for(state="visible")
    assert page.inner_text("[data-lightbox-field=size]") == "128×64"
    page.keyboard.press("f")
    expect(page.locator("[data-testid=lightbox-favourite]")).to_have_attribute(
        "aria-pressed", "true")
    page.keyboard.press("ArrowRight")
    page.click("[data-testid=lightbox-delete]")  # the confirm() is accepted
    expect(page.locator("[data-testid=library-item]")).to_have_count(1)
    page.keyboard.press("Escape")
    page.reload()
    assert items.count() == 1 and "★" in page.inner_text("[data-testid=favourite]")

    log_out(page)
    page.goto(f"{live_server}/auth/login")
    page.click("[data-testid=forgot-link]")
    page.fill("input[name=email]", EMAIL)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/auth/login$"))
    link = mailbox.link(EMAIL, "/auth/reset/")
    page.goto(link)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=confirm]", NEW_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/auth/login$"))
    assert "Password changed" in page.inner_text("main")
    page.goto(link)
    assert "already used" in page.inner_text("main")  # one use
    login(page, live_server, EMAIL, NEW_PASSWORD)

    page.goto(f"{live_server}/account/?tab=data")
    page.fill("input[name=account-password]", NEW_PASSWORD)
    page.check("input[name=account-understood]")
    page.click("[data-testid=delete-account]")
    page.wait_for_url(re.compile(r"/$"))
    assert "Goodbye" in page.inner_text("main")
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("form button[type=submit]")
    assert "Wrong email or password." in page.inner_text("main")
