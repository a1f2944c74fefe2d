"""Accessibility: axe-core finds no serious or critical violations on the main pages."""

from pathlib import Path

import pytest

from tests.browser.conftest import login
from tests.conftest import PASSWORD, SMALL

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def violations(page) -> list[str]:
    # Evaluated through the DevTools protocol: a <script> tag would be refused by the CSP.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run()")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("path", ["/", "/docs", "/gallery", "/terms", "/auth/login",
                                  "/auth/register", "/api/docs"])
def test_public_pages(page, live_server, path):
    page.goto(live_server + path)
    assert violations(page) == []


def test_signed_in_pages(page, live_server, staff):
    login(page, live_server, staff.email, PASSWORD)
    # No worker runs here, so the task stays queued and its progress bar is on the page.
    response = page.request.post(live_server + "/studio/tasks", multipart=SMALL)
    assert response.status == 202
    page.goto(live_server + "/studio/")
    page.wait_for_selector("[data-testid=progress]", state="attached")
    for path in ("/studio/", "/account/", "/account/?tab=settings", "/account/?tab=credits",
                 "/account/?tab=keys", "/account/?tab=archive",
                 "/account/?tab=sessions", "/admin/", "/admin/users",
                 f"/admin/users/{staff.id}", "/admin/queue", "/admin/vouchers", "/admin/audit",
                 "/admin/gallery", "/admin/archives", "/admin/models"):
        page.goto(live_server + path)
        assert violations(page) == [], path
