"""Running the place in a real browser: vouchers, the dashboard, the curated gallery."""

import io
from datetime import timedelta

import pytest
from PIL import Image as PILImage
from PIL import PngImagePlugin

from daydream.extensions import db
from daydream.models import CreditEntry, User
from daydream.models.base import utcnow
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_staff_create_a_voucher_and_a_user_redeems_it(browser, live_server, app, staff, user):
    staff_page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(staff_page, live_server, staff.email, PASSWORD)
    staff_page.goto(live_server + "/admin/vouchers")
    staff_page.fill("input[name=amount]", "150")
    staff_page.fill("input[name=max_uses]", "10")
    staff_page.fill("input[name=note]", "browser workshop")
    staff_page.click("text=Create voucher")
    code = staff_page.inner_text("[data-testid=new-voucher-code]")
    assert code.startswith("DD-")
    screenshot(staff_page, "admin-vouchers")

    user_page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(user_page, live_server, user.email, PASSWORD)
    user_page.goto(live_server + "/account/?tab=credits")
    user_page.fill("input[name=voucher-code]", code)
    user_page.click("button:has-text(\"Redeem\")")
    user_page.wait_for_selector("[data-testid=flash]")
    assert "150 credits added" in user_page.inner_text("[data-testid=flash]")
    expected = str(app.config["STARTING_CREDITS"] + 150)
    assert user_page.inner_text("[data-testid=credits-balance]") == expected
    assert user_page.locator("[data-testid=ledger-row][data-kind=voucher]").count() == 1
    screenshot(user_page, "account-credits")
    staff_page.close()
    user_page.close()


def test_staff_open_the_dashboard(page, live_server, app, staff, user, make_task):
    now = utcnow()
    for hours, state, wait, run in [(1, "done", 3, 9), (1, "done", 5, 7), (2, "failed", 2, 0),
                                    (5, "done", 12, 8), (9, "cancelled", 1, 2),
                                    (30, "done", 4, 6), (80, "done", 2, 5)]:
        created = now - timedelta(hours=hours)
        task = make_task(user, state=state, created_at=created,
                         started_at=created + timedelta(seconds=wait),
                         finished_at=created + timedelta(seconds=wait + run), cost=5 + hours)
        with app.app_context():
            db.session.add(CreditEntry(user_id=user.id, delta=-task.cost, balance_after=0,
                                       kind="charge", task_id=task.id, created_at=created))
            db.session.commit()
    login(page, live_server, staff.email, PASSWORD)
    page.goto(live_server + "/admin/")
    page.wait_for_selector("#dashboard-data[data-drawn=day]", state="attached")
    assert page.locator("canvas[data-chart]").count() == 4
    assert page.inner_text("[data-testid=count-users] p >> nth=1") == "2"
    drawn = page.evaluate("Object.keys(Chart.instances).length")
    assert drawn == 4
    screenshot(page, "admin-dashboard")
    page.click("[data-range=week]")
    page.wait_for_selector("#dashboard-data[data-drawn=week]", state="attached")
    assert page.get_attribute("[data-range=week]", "aria-pressed") == "true"


def test_admin_pages_fit_a_phone(phone, live_server, app, staff, user):
    login(phone, live_server, staff.email, PASSWORD)
    for path in ["/admin/", "/admin/users", f"/admin/users/{user.id}", "/admin/queue",
                 "/admin/vouchers", "/admin/audit", "/admin/gallery", "/admin/archives"]:
        phone.goto(live_server + path)
        assert no_horizontal_scroll(phone), f"{path} scrolls sideways at 375 px"
    phone.goto(live_server + f"/admin/users/{user.id}")
    screenshot(phone, "admin-user-phone")


def test_visitor_tries_a_featured_prompt(page, live_server, app, staff, user, tmp_path):
    from daydream.services import gallery_import

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a paper boat on a puddle\nSteps: 9, Sampler: Euler, "
                                "CFG scale: 6, Seed: 4242, Size: 64x64")
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 64), (30, 120, 200)).save(buffer, "PNG", pnginfo=info)
    folder = tmp_path / "featured"
    folder.mkdir()
    (folder / "boat.png").write_bytes(buffer.getvalue())
    with app.app_context():
        gallery_import.import_folder(folder, db.session.get(User, staff.id), featured=True)

    page.goto(live_server + "/")
    page.click("[data-testid=featured-image]")
    assert page.inner_text("[data-testid=gallery-prompt]") == "a paper boat on a puddle"
    screenshot(page, "gallery-image")
    page.click("[data-testid=try-prompt]")
    page.wait_for_url(lambda url: "/auth/login" in url)
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/studio/" in url)
    # A function, not an expression: the CSP refuses eval() of expression strings.
    page.wait_for_function("() => document.querySelector('#prompt').value.length > 0")
    assert page.input_value("#prompt") == "a paper boat on a puddle"
    assert page.input_value("#steps") == "9"
    assert page.input_value("#seed") == "4242"
