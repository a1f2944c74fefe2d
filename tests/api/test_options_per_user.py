"""A1111's /sdapi/v1/options sets the CALLER's default model, stored per user: another
person (and the server's default) is unaffected; txt2img without override uses it."""

from __future__ import annotations

import json

import pytest

from daydream.engine.demo import DEMO_NAME
from daydream.extensions import db
from daydream.models import User
from daydream.services import model_settings
from tests.api import a1111
from tests.api.conftest import basic
from tests.model_library import SD1, XL, any_enabled_model_runs, library_settings

TINY = {"prompt": "a fox", "width": 64, "height": 64, "steps": 2}


@pytest.fixture
def app_settings(app_settings: dict, tmp_path) -> dict:
    return library_settings(app_settings, tmp_path)


@pytest.fixture
def people(make_user, make_key):
    """Two people with their API keys, and staff."""
    ada, bob = make_user("ada@example.com"), make_user("bob@example.com")
    return ada, basic(make_key(ada)), bob, basic(make_key(bob)), make_user(
        "staff@example.com", staff=True)


def checkpoint(client, headers) -> str:
    return client.get("/sdapi/v1/options", headers=headers).json["sd_model_checkpoint"]


def staff_default(app, staff, name: str) -> None:
    with app.app_context():
        model_settings.set_default(db.session.get(User, staff.id), name)


def test_each_caller_has_their_own_default(app, client, people):
    ada, ada_key, bob, bob_key, staff = people
    assert checkpoint(client, ada_key).startswith(DEMO_NAME)
    assert client.post("/sdapi/v1/options", json={"sd_model_checkpoint": DEMO_NAME},
                       headers=ada_key).status_code == 200
    # The server's default moves: Bob (no default of his own) follows it, Ada keeps hers.
    staff_default(app, staff, XL)
    assert checkpoint(client, ada_key).startswith(DEMO_NAME)
    assert checkpoint(client, bob_key).startswith(XL)
    with app.app_context():
        assert db.session.get(User, ada.id).default_model == DEMO_NAME
        assert db.session.get(User, bob.id).default_model is None
        assert model_settings.current().default == XL  # the server's default is untouched
    # Ada's native API task without a model runs on her default, priced by it.
    task = client.post("/api/v1/tasks", json=TINY, headers=ada_key)
    assert task.status_code == 202 and task.json["model"] == DEMO_NAME


def test_txt2img_without_override_uses_the_callers_default(app, client, people, worker):
    ada, ada_key, bob, bob_key, staff = people
    client.post("/sdapi/v1/options", json={"sd_model_checkpoint": DEMO_NAME}, headers=ada_key)
    staff_default(app, staff, XL)
    response = client.post("/sdapi/v1/txt2img", json=a1111.txt2img(**a1111.SMALL),
                           headers=ada_key)
    assert response.status_code == 200, response.json
    assert json.loads(response.json["info"])["sd_model_name"] == DEMO_NAME


@pytest.mark.parametrize(("wanted", "reason"), [
    ("nope", "'nope' is not in this server's library"), (SD1, f"'{SD1}' is disabled")])
def test_an_unusable_default_is_refused_and_nothing_changes(app, client, people, wanted,
                                                            reason):
    ada, ada_key, _bob, _bob_key, staff = people
    with app.app_context():
        model_settings.set_enabled(db.session.get(User, staff.id), SD1, False)
    response = client.post("/sdapi/v1/options", json={"sd_model_checkpoint": wanted},
                           headers=ada_key)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "model_not_found"
    assert reason in response.json["error"]["message"]
    assert list(response.json["error"]["details"]) == ["sd_model_checkpoint"]
    with app.app_context():
        assert db.session.get(User, ada.id).default_model is None


def test_a_default_disabled_later_falls_back_to_the_servers(app, client, people):
    ada, ada_key, _bob, _bob_key, staff = people
    client.post("/sdapi/v1/options", json={"sd_model_checkpoint": DEMO_NAME}, headers=ada_key)
    staff_default(app, staff, XL)
    with app.app_context():
        model_settings.set_enabled(db.session.get(User, staff.id), DEMO_NAME, False)
    assert checkpoint(client, ada_key).startswith(XL)


@pytest.mark.skipif(not any_enabled_model_runs(),
                    reason="a second model runs once per-task model choice lands (mworker)")
def test_two_callers_with_different_defaults_get_tasks_on_their_own_models(client, people):
    _ada, ada_key, _bob, bob_key, _staff = people
    for headers, name in ((ada_key, XL), (bob_key, SD1)):
        assert client.post("/sdapi/v1/options", json={"sd_model_checkpoint": name},
                           headers=headers).status_code == 200
    assert checkpoint(client, ada_key).startswith(XL)
    assert checkpoint(client, bob_key).startswith(SD1)
    for headers, name in ((ada_key, XL), (bob_key, SD1)):
        task = client.post("/api/v1/tasks", json=TINY, headers=headers)
        assert task.status_code == 202 and task.json["model"] == name
