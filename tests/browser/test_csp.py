"""The Content-Security-Policy in a real browser: every page runs with it, nothing inline runs."""

import pytest

from tests.browser.conftest import csp_violations, login
from tests.conftest import PASSWORD, SMALL

pytestmark = pytest.mark.browser

PAGES = ("/", "/docs", "/gallery", "/terms", "/api/docs", "/studio/", "/account/",
         "/account/?tab=keys", "/account/?tab=credits", "/account/?tab=archive", "/admin/",
         "/admin/users", "/admin/vouchers", "/admin/audit")
# Data blocks (<script type="application/json">) are not scripts: the CSP never runs them.
INLINE_SCRIPTS = ("() => document.querySelectorAll("
                  "'script:not([src]):not([type=\"application/json\"])').length")


def test_every_page_works_under_the_policy(page, live_server, staff):
    # The ``page`` fixture fails the test on any CSP violation in the console.
    login(page, live_server, staff.email, PASSWORD)
    assert page.request.post(live_server + "/studio/tasks", multipart=SMALL).status == 202
    for path in PAGES:
        response = page.goto(live_server + path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        assert page.evaluate(INLINE_SCRIPTS) == 0, path
    # Socket.IO's websocket opens under connect-src 'self' and the server talks over it.
    with page.expect_websocket() as opened:
        page.goto(live_server + "/studio/")
    socket = opened.value
    assert "/socket.io/" in socket.url
    socket.wait_for_event("framereceived")
    page.wait_for_selector("[data-testid=progress]", state="attached")


def test_an_injected_inline_handler_is_refused(browser, live_server, user):
    context = browser.new_context()
    page = context.new_page()
    violations = csp_violations(page)
    login(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/studio/")
    page.evaluate("""() => document.body.insertAdjacentHTML('beforeend',
        '<img src="/no-such-image.png" onerror="window.__ran = true">')""")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__ran") is None
    assert any("script-src" in text for text in violations), violations
    context.close()
