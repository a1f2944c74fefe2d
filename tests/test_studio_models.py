"""The studio's model and LoRA pickers, server side: what the page offers, what the quote
and the submission do with the choice, and the model on the card."""

from __future__ import annotations

import html

import pytest

from daydream.engine.demo import DEMO_NAME
from daydream.engine.params import Limits
from daydream.extensions import db
from daydream.models import User
from daydream.services import model_settings
from tests.conftest import SMALL
from tests.model_library import SD1, XL, library_settings


@pytest.fixture
def app_settings(app_settings: dict, tmp_path) -> dict:
    library_settings(app_settings, tmp_path)
    app_settings["MAX_PIXELS"] = 1024 * 1024
    return app_settings


def staff_change(app, staff, name: str, **changes) -> None:
    with app.app_context():
        actor = db.session.get(User, staff.id)
        entry = model_settings.current().get(name)
        if "enabled" in changes:
            model_settings.set_enabled(actor, name, changes["enabled"])
        if "title" in changes or "price" in changes:
            model_settings.edit(actor, name, model_settings.Edit(
                changes.get("title", entry.title), entry.width, entry.height,
                changes.get("price", entry.price)))


def options(page: str) -> dict[str, str]:
    """The model picker's options: name → the option's HTML."""
    picker = page.split('id="model"')[1].split("</select>")[0]
    return {part.split('"')[0]: part for part in picker.split('<option value="')[1:]}


def test_the_picker_offers_enabled_models_with_size_and_price(app, client, auth, user, staff):
    staff_change(app, staff, XL, title="Juggernaut XL", price=2.5)
    staff_change(app, staff, SD1, enabled=False)
    auth.login(user.email)
    page = client.get("/studio/").get_data(as_text=True)
    offered = options(page)
    assert list(offered) == [DEMO_NAME, XL]  # the default first; disabled ones not offered
    assert "selected" in offered[DEMO_NAME]
    assert 'data-width="1024" data-height="1024"' in offered[XL]
    assert 'data-price="2.5"' in offered[XL] and "Juggernaut XL · price ×2.5" in offered[XL]
    assert 'data-family="sdxl"' in offered[XL]
    lora = page.split('id="lora-pick"')[1].split("</select>")[0]
    assert '<option value="sparkle">sparkle</option>' in lora
    assert "js/studio-models.js" in page


def test_the_users_own_default_is_preselected(app, client, auth, user):
    with app.app_context():
        db.session.get(User, user.id).default_model = XL
        db.session.commit()
    auth.login(user.email)
    offered = options(client.get("/studio/").get_data(as_text=True))
    assert "selected" in offered[XL] and "selected" not in offered[DEMO_NAME]


def test_usual_sizes_are_fitted_to_the_limits():
    limits = Limits(max_pixels=512 * 512, max_side=1024, min_side=64)
    assert model_settings.fit_size(1024, 1024, limits) == (512, 512)
    assert model_settings.fit_size(832, 1216, limits) == (416, 616)  # 256,256 px
    assert model_settings.fit_size(512, 512, limits) == (512, 512)
    assert model_settings.fit_size(4096, 64, limits) == (1024, 64)


def test_quote_and_submit_refuse_an_unusable_model_with_its_name(app, client, auth, user,
                                                                 staff):
    staff_change(app, staff, SD1, enabled=False)
    auth.login(user.email)
    before = client.get("/studio/state").json["credits"]
    for url in ("/studio/quote", "/studio/tasks"):
        for wanted, reason in (("nope", "'nope' is not in this server's library"),
                               (SD1, f"'{SD1}' is disabled")):
            response = client.post(url, data={**SMALL, "model": wanted})
            assert response.status_code == 400, url
            assert response.json["error"]["code"] == "invalid_parameters"
            assert reason in response.json["error"]["details"]["model"]
    assert client.get("/studio/state").json["credits"] == before


def test_the_card_shows_the_models_display_name(app, client, auth, user, staff):
    staff_change(app, staff, DEMO_NAME, title="Tiny demo")
    auth.login(user.email)
    answer = client.post("/studio/tasks", data={**SMALL, "model": DEMO_NAME}).json
    assert answer["task"]["model"] == DEMO_NAME
    card = html.unescape(answer["card"])
    assert 'data-testid="task-model" title="daydream-demo">Tiny demo</span>' in card
    assert '"model": "daydream-demo"' in card  # reuse settings carry the model


def test_the_admin_queue_shows_each_tasks_model(app, client, auth, user, staff):
    staff_change(app, staff, DEMO_NAME, title="Tiny demo")
    auth.login(user.email)
    client.post("/studio/tasks", data=SMALL)
    auth.logout()
    auth.login(staff.email)
    page = client.get("/admin/queue").get_data(as_text=True)
    assert '<span data-testid="queue-model">Tiny demo</span>' in page


def test_the_library_shows_the_models_display_name(app, client, auth, user, staff,
                                                   make_images):
    staff_change(app, staff, XL, title="Juggernaut XL")
    image = make_images(user, model=XL)[0]
    auth.login(user.email)
    page = client.get(f"/library/images/{image}").get_data(as_text=True)
    assert f'data-field="model" title="{XL}">Juggernaut XL</dd>' in page
    listing = client.get("/library/").get_data(as_text=True)
    assert f'<option value="{XL}" >Juggernaut XL</option>' in listing


def test_no_demo_notice_when_a_models_folder_is_set(app, client, auth, user):
    auth.login(user.email)
    assert 'data-testid="demo-notice"' not in client.get("/studio/").get_data(as_text=True)
    app.config.update(MODELS_DIR=None, MODEL=None)
    assert 'data-testid="demo-notice"' in client.get("/studio/").get_data(as_text=True)
