"""The staff's model page: list, enable, disable, default, display name, size and price
factor, applied without a restart in every process, each change in the audit log."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from daydream import create_app
from daydream.engine.demo import DEMO_NAME
from daydream.extensions import db
from daydream.models import AuditEntry, User
from daydream.services import apikeys, model_settings
from tests.api.conftest import bearer
from tests.model_library import SD1, XL, library_settings


@pytest.fixture
def app_settings(app_settings: dict, tmp_path) -> dict:
    return library_settings(app_settings, tmp_path)


@pytest.fixture
def key(app, user) -> dict[str, str]:
    """API headers of the ordinary ``user``."""
    with app.app_context():
        return bearer(apikeys.create_key(db.session.get(User, user.id), "script")[1])


@pytest.fixture
def as_staff(client, auth, staff):
    auth.login(staff.email)
    return staff


def row(page: str, name: str) -> str:
    """The HTML of one model's section on the admin page."""
    start = page.index(f'data-model="{name}"')
    end = page.find('data-testid="model-row"', start)
    return page[start:end if end > 0 else None]


def edit(client, name: str, **values):
    page = client.get("/admin/models").get_data(as_text=True)
    prefix = row(page, name).split('name="prefix" value="')[1].split('"')[0]
    data = {"prefix": prefix, f"{prefix}-name": name}
    data.update({f"{prefix}-{key}": value for key, value in values.items()})
    return client.post("/admin/models/edit", data=data)


def action(client, verb: str, name: str):
    return client.post("/admin/models/action", data={"name": name, "do": verb})


def audit_actions(app) -> list[tuple[str, str, dict, dict]]:
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.target, e.before, e.after) for e in entries]


def test_anonymous_and_ordinary_users_are_refused(client, auth, user):
    assert client.get("/admin/models").status_code == 302
    assert action(client, "disable", SD1).status_code == 302
    auth.login(user.email)
    assert client.get("/admin/models").status_code == 403
    assert action(client, "disable", SD1).status_code == 403
    assert client.post("/admin/models/edit", data={"name": SD1, "price": "0.01"}
                       ).status_code == 403
    auth.logout()


def test_staff_see_every_model_with_its_settings(client, as_staff, tmp_path):
    page = client.get("/admin/models").get_data(as_text=True)
    xl = row(page, XL)
    assert "sdxl" in xl and "Enabled" in xl and "1024×1024" in xl and "×1" in xl
    assert str(tmp_path / "models" / f"{XL}.safetensors") in xl
    assert 'data-testid="model-hash">' in xl and "—" not in xl.split("model-hash")[1][:20]
    assert "model-is-default" in row(page, DEMO_NAME) and "model-is-default" not in row(page, SD1)
    assert 'href="/admin/models"' in client.get("/admin/").get_data(as_text=True)


def test_edit_applies_at_once_to_prices_and_other_processes(app, client, as_staff, key,
                                                           app_settings, tmp_path):
    body = {"prompt": "a fox", "width": 64, "height": 64, "steps": 2, "dry_run": True}
    before = client.post("/api/v1/tasks", json=body, headers=key).json["cost"]
    response = edit(client, DEMO_NAME, title="Tiny demo", width="320", height="256",
                    price="2.5")
    assert response.status_code == 303
    page = client.get("/admin/models").get_data(as_text=True)
    assert "Tiny demo" in row(page, DEMO_NAME) and "320×256" in row(page, DEMO_NAME)
    quoted = client.post("/api/v1/tasks", json=body, headers=key).json
    assert quoted["cost"] == -(-before * 5 // 2)  # × 2.5, rounded up
    assert quoted["model"] == {"name": DEMO_NAME, "title": "Tiny demo", "price_factor": 2.5}
    # Another process on the same database (a worker, a second web server) sees it too.
    other = create_app(app_settings, instance_path=tmp_path / "other-instance")
    with other.app_context():
        entry = model_settings.current().get(DEMO_NAME)
        assert (entry.title, entry.width, entry.height, entry.price) == (
            "Tiny demo", 320, 256, 2.5)
        db.session.remove()
        db.engine.dispose()  # else its pooled connection is left to the garbage collector
    (name, target, old, new), = [a for a in audit_actions(app) if a[0] == "model.edit"]
    assert target == f"model {DEMO_NAME}"
    assert (old["title"], old["width"], old["price"]) == (DEMO_NAME, 512, 1.0)
    assert (new["title"], new["width"], new["height"], new["price"]) == (
        "Tiny demo", 320, 256, 2.5)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("width", "100", "multiple of 8"), ("width", "4096", "multiple of 8"),
    ("price", "0", "Between 0.01 and 100"), ("price", "abc", "Not a valid decimal"),
])
def test_bad_edits_are_refused_and_change_nothing(app, client, as_staff, field, value,
                                                  message):
    values = {"title": "x", "width": "512", "height": "512", "price": "1"}
    response = edit(client, SD1, **{**values, field: value})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert audit_actions(app) == []


def test_disable_enable_and_default(app, client, as_staff, key):
    body = {"prompt": "a fox", "width": 64, "height": 64, "steps": 2, "model": SD1}
    assert action(client, "disable", SD1).status_code == 303
    listed = [m["model_name"] for m in client.get("/sdapi/v1/sd-models", headers=key).json]
    assert listed == [DEMO_NAME, XL]
    refused = client.post("/api/v1/tasks", json=body, headers=key)
    assert refused.status_code == 422 and f"'{SD1}' is disabled" in refused.json["error"]["message"]
    assert "Disabled" in row(client.get("/admin/models").get_data(as_text=True), SD1)
    # A disabled model cannot become the default.
    refused = action(client, "default", SD1)
    assert refused.status_code == 409 and "enable it before" in refused.get_data(as_text=True)
    assert action(client, "enable", SD1).status_code == 303
    assert action(client, "default", XL).status_code == 303
    assert client.get("/sdapi/v1/options", headers=key).json["sd_model_checkpoint"].startswith(XL)
    page = client.get("/admin/models").get_data(as_text=True)
    assert "model-is-default" in row(page, XL) and "model-is-default" not in row(page, DEMO_NAME)
    assert [a[0] for a in audit_actions(app)] == ["model.disable", "model.enable",
                                                   "model.default"]
    assert audit_actions(app)[2][2]["default"] is False and audit_actions(app)[2][3]["default"]


def test_the_default_and_the_last_enabled_model_stay_enabled(app, client, as_staff):
    refused = action(client, "disable", DEMO_NAME)
    assert refused.status_code == 409
    assert "is the default model; make another model the default first" in refused.get_data(
        as_text=True)
    assert action(client, "disable", SD1).status_code == 303
    assert action(client, "disable", XL).status_code == 303
    last = action(client, "disable", DEMO_NAME)
    assert last.status_code == 409 and "last enabled model" in last.get_data(as_text=True)
    with app.app_context():
        assert [m.name for m in model_settings.current().enabled()] == [DEMO_NAME]
    assert [a[0] for a in audit_actions(app)] == ["model.disable", "model.disable"]


def test_unknown_model_and_missing_csrf_are_refused(app, client, as_staff):
    response = action(client, "enable", "nope")
    assert response.status_code == 409
    assert "'nope' is not in the library" in html.unescape(response.get_data(as_text=True))
    app.config["WTF_CSRF_ENABLED"] = True
    assert action(client, "disable", SD1).status_code == 400


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_racing_staff_cannot_leave_a_disabled_default(app, make_user):
    """One makes a model the default while another disables it: exactly one wins."""
    import threading

    first, second = make_user("a@example.com", staff=True), make_user("b@example.com",
                                                                        staff=True)
    for _round in range(6):
        with app.app_context():
            actor = db.session.get(User, first.id)
            model_settings.set_enabled(actor, SD1, True)
            model_settings.set_default(actor, DEMO_NAME)
        barrier = threading.Barrier(2)
        won: dict[str, bool] = {}

        def attempt(label: str, staff_id: int, change, barrier=barrier, won=won) -> None:
            with app.app_context():
                actor = db.session.get(User, staff_id)
                barrier.wait()
                try:
                    change(actor)
                    won[label] = True
                except model_settings.SettingRefused:
                    won[label] = False
                finally:
                    db.session.remove()

        threads = [
            threading.Thread(target=attempt, args=(
                "default", first.id, lambda a: model_settings.set_default(a, SD1))),
            threading.Thread(target=attempt, args=(
                "disable", second.id, lambda a: model_settings.set_enabled(a, SD1, False))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with app.app_context():
            library = model_settings.current()
            assert library.models[library.default].enabled
        assert sorted(won.values()) == [False, True], won


def test_the_service_refuses_settings_the_form_would(app, staff):
    with app.app_context():
        actor = db.session.get(User, staff.id)
        for price, width in ((0, 512), (101, 512), (1, 0)):
            with pytest.raises(model_settings.SettingRefused):
                model_settings.edit(actor, SD1, model_settings.Edit("x", width, 512, price))
    assert audit_actions(app) == []
