"""The site shell in a real browser: sign-up flow, navigation, small screens."""

import pytest

from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_register_then_account_page(page, live_server, app):
    page.goto(live_server + "/")
    screenshot(page, "landing")
    page.click("text=Sign up")
    page.fill("input[name=email]", "browser@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=flash]")
    assert "your account is ready" in page.inner_text("[data-testid=flash]")
    login(page, live_server, "browser@example.com", PASSWORD)
    page.click("[data-testid=nav-account]")
    assert page.inner_text("[data-testid=account-email]") == "browser@example.com"
    assert page.inner_text("[data-testid=account-credits]") == str(app.config["STARTING_CREDITS"])
    screenshot(page, "account")


def test_staff_menu_and_admin(page, live_server, staff, user):
    login(page, live_server, staff.email, PASSWORD)
    page.click("nav >> text=Admin")
    page.click("[data-testid=admin-nav-users]")
    page.wait_for_selector("[data-testid=admin-user-row]")
    rows = page.locator("[data-testid=admin-user-row]")
    assert rows.count() == 2
    page.locator(f"[data-email='{user.email}'] a").click()
    page.fill("input[name=amount]", "75")
    page.click("text=Apply")
    page.wait_for_selector("[data-testid=flash]")
    assert "credits" in page.inner_text("[data-testid=flash]")
    screenshot(page, "admin")


@pytest.mark.parametrize("path", ["/", "/auth/login", "/auth/register", "/docs", "/terms",
                                  "/gallery"])
def test_pages_fit_a_375px_screen(phone, live_server, path):
    phone.goto(live_server + path)
    assert no_horizontal_scroll(phone), f"{path} scrolls sideways at 375 px"


def test_mobile_menu_opens(phone, live_server):
    phone.goto(live_server + "/")
    assert not phone.is_visible("#main-menu >> text=Log in")
    phone.click("[data-collapse-toggle=main-menu]")
    phone.wait_for_selector("#main-menu >> text=Log in", state="visible")
    screenshot(phone, "landing-phone")
