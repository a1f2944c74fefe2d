"""Login and studio sessions in a real browser: the list, logout on the server, the studio
session kept across logins."""

import pytest
import requests

from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def opens_account(base_url: str, cookies: list[dict]) -> bool:
    """Whether these saved browser cookies, sent by another client, open the account page."""
    jar = {cookie["name"]: cookie["value"] for cookie in cookies}
    response = requests.get(f"{base_url}/account/", cookies=jar, allow_redirects=False,
                            timeout=10)
    return response.status_code == 200


def test_sessions_tab_fits_a_phone_and_ends_another_login(phone, live_server, user):
    laptop = requests.Session()
    laptop.post(f"{live_server}/auth/login", data={"email": user.email, "password": PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/140.0"}, timeout=10)
    assert opens_account(live_server, [{"name": c.name, "value": c.value}
                                       for c in laptop.cookies])
    login(phone, live_server, user.email, PASSWORD)
    phone.goto(f"{live_server}/account/?tab=sessions")
    assert phone.locator("[data-testid=session]").count() == 2
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(phone, "account-sessions-phone")
    phone.fill("[data-testid=end-sessions-password]", PASSWORD)
    phone.click("[data-testid=end-session]")
    phone.wait_for_selector("[data-testid=flash]")
    assert "That session has ended" in phone.inner_text("[data-testid=flash]")
    assert phone.locator("[data-testid=session]").count() == 1
    assert not opens_account(live_server, [{"name": c.name, "value": c.value}
                                           for c in laptop.cookies])


def test_sessions_list_logout_and_studio_session(page, live_server, user, make_task):
    make_task(user, prompt="a kept lighthouse")
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.check("input[name=remember]")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)

    page.goto(f"{live_server}/account/?tab=sessions")
    rows = page.locator("[data-testid=session]")
    assert rows.count() == 1
    assert "This browser" in rows.first.inner_text()
    assert "Chrome" in rows.first.inner_text()
    screenshot(page, "account-sessions")

    page.goto(f"{live_server}/studio/")
    studio_session = page.inner_text("[data-testid=studio-session]")
    assert "a kept lighthouse" in page.inner_text("[data-testid=timeline]")
    assert "stays when you log out" in page.inner_text("[data-testid=session-help]")

    saved = page.context.cookies()
    assert {"session", "remember_token"} <= {cookie["name"] for cookie in saved}
    assert opens_account(live_server, saved), "the saved cookies work while logged in"
    page.click("nav >> text=Log out")
    page.wait_for_selector("[data-testid=flash]")
    assert not opens_account(live_server, saved), "logout ended the login on the server"
    remember_only = [c for c in saved if c["name"] == "remember_token"]
    assert not opens_account(live_server, remember_only)

    login(page, live_server, user.email, PASSWORD)
    page.goto(f"{live_server}/studio/")
    assert page.inner_text("[data-testid=studio-session]") == studio_session
    assert "a kept lighthouse" in page.inner_text("[data-testid=timeline]")
    screenshot(page, "studio-session-kept")
