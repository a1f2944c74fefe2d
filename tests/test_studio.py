"""The studio without a worker: validation, pricing, bounds, cancel of queued tasks."""

import io
import re

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task, User
from daydream.services.credits import ledger_total
from tests.conftest import SMALL
from tests.library_factories import bulk_images
from tests.querycount import count_for


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def balance(app, user):
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert ledger_total(user.id) == fresh.credits, "balance must equal the ledger"
        return fresh.credits


def test_studio_needs_login(client):
    assert client.get("/studio/").status_code == 302


def test_empty_studio_shows_controls_and_empty_state(client, logged_in):
    page = client.get("/studio/").get_data(as_text=True)
    for text in ('id="prompt"', 'id="steps"', 'id="cfg_scale"', 'id="width"', 'id="height"',
                 'id="samples"', 'id="random_seed"', 'id="scheduler"', 'id="init_image"',
                 'id="strength"', 'id="help-toggle"', 'data-testid="empty-state"',
                 "DPM++ 2M Karras",
                 "demo model"):
        assert text in page


def test_submit_charges_and_queues(app, client, logged_in):
    before = balance(app, logged_in)
    response = client.post("/studio/tasks", data=SMALL)
    assert response.status_code == 202, response.json
    task = response.json["task"]
    assert task["state"] == "queued" and task["position"] == 1
    assert 0 <= task["seed"] <= 2**32 - 1
    assert task["cost"] >= 1 and response.json["credits"] == before - task["cost"]
    assert balance(app, logged_in) == before - task["cost"]
    assert 'data-testid="task-card"' in client.get("/studio/").get_data(as_text=True)


def test_given_seed_is_kept(client, logged_in):
    data = {**SMALL, "seed": "4294967295"}
    data.pop("random_seed")
    assert client.post("/studio/tasks", data=data).json["task"]["seed"] == 4294967295


def test_cost_grows_with_pixels_steps_and_samples(app, client, logged_in):
    small = client.post("/studio/tasks", data=SMALL).json["task"]["cost"]
    big = client.post("/studio/tasks", data={**SMALL, "width": "512", "height": "512",
                                             "steps": "20", "samples": "2"}).json["task"]["cost"]
    assert big == 20 and small == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prompt", "x" * 1001, "prompt must be at most 1000 characters"),
        ("negative_prompt", "x" * 1001, "negative_prompt must be at most 1000 characters"),
        ("width", "100", "width must be a multiple of 8"),
        ("height", "0", "height must be a multiple of 8"),
        ("width", "wide", "width must be a multiple of 8"),
        ("steps", "0", "steps must be a whole number between 1 and 100"),
        ("steps", "101", "steps must be a whole number between 1 and 100"),
        ("cfg_scale", "nan", "cfg_scale must be a number"),
        ("cfg_scale", "99", "cfg_scale must be a number"),
        ("samples", "5", "samples must be a whole number between 1 and 4"),
        ("seed", "-5", "seed must be empty"),
        ("seed", "4294967296", "seed must be empty"),
        ("scheduler", "Warp drive", "scheduler must be one of"),
    ],
)
def test_bad_parameters_are_refused_and_cost_nothing(app, client, logged_in, field, value,
                                                    message):
    before = balance(app, logged_in)
    data = {**SMALL, field: value}
    if field == "seed":
        data.pop("random_seed")
    response = client.post("/studio/tasks", data=data)
    assert response.status_code == 400
    assert message in response.json["error"]["message"]
    assert response.json["error"]["code"] == "invalid_parameters"
    assert balance(app, logged_in) == before
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_too_many_pixels(client, logged_in):
    response = client.post("/studio/tasks", data={**SMALL, "width": "768", "height": "768"})
    assert response.status_code == 400
    assert "at most 262144 pixels" in response.json["error"]["message"]


def test_bad_strength_for_img2img(client, logged_in, png_bytes):
    response = client.post("/studio/tasks", data={**SMALL, "strength": "1.5",
                                                  "init_image": (png_bytes(), "a.png")})
    assert response.status_code == 400
    assert "strength must be a number above 0" in response.json["error"]["message"]


def test_not_enough_credits(app, client, auth, make_user):
    poor = make_user("poor@example.com", credits=0)
    auth.login(poor.email)
    response = client.post("/studio/tasks", data=SMALL)
    assert response.status_code == 402
    assert "needs 1 credits and you have 0" in response.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_per_user_bound(app, client, logged_in):
    app.config["QUEUE_MAX_PER_USER"] = 2
    assert client.post("/studio/tasks", data=SMALL).status_code == 202
    assert client.post("/studio/tasks", data=SMALL).status_code == 202
    before = balance(app, logged_in)
    refused = client.post("/studio/tasks", data=SMALL)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "2 unfinished tasks" in refused.json["error"]["message"]
    assert balance(app, logged_in) == before


def test_global_bound(app, client, auth, make_user):
    app.config["QUEUE_MAX"] = 2
    for email in ("one@example.com", "two@example.com", "three@example.com"):
        auth.login(make_user(email).email)
        response = client.post("/studio/tasks", data=SMALL)
        auth.logout()
    assert response.status_code == 503
    assert "queue is full" in response.json["error"]["message"]


def test_cancel_queued_task_refunds_once(app, client, logged_in):
    before = balance(app, logged_in)
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    cancelled = client.post(f"/studio/tasks/{task_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    again = client.post(f"/studio/tasks/{task_id}/cancel")
    assert again.status_code == 409
    assert balance(app, logged_in) == before
    assert client.get(f"/studio/tasks/{task_id}").json["state"] == "cancelled"


def test_fair_positions_between_users(app, client, auth, make_user):
    ids = {}
    for name, count in (("a", 2), ("b", 1)):
        auth.login(make_user(f"{name}@example.com").email)
        ids[name] = [client.post("/studio/tasks", data=SMALL).json["task"]["id"]
                     for _ in range(count)]
        auth.logout()
    auth.login("a@example.com")
    positions = [client.get(f"/studio/tasks/{i}").json["position"] for i in ids["a"]]
    assert positions == [1, 3], "b's only task goes before a's second"


def test_other_users_task_is_404(client, auth, make_user, logged_in):
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    auth.logout()
    auth.login(make_user("other@example.com").email)
    assert client.get(f"/studio/tasks/{task_id}").status_code == 404
    assert client.post(f"/studio/tasks/{task_id}/cancel").status_code == 404
    assert client.get(f"/studio/tasks/{task_id}.zip").status_code == 404


def test_the_studio_session_survives_logout_and_login(client, auth, logged_in):
    # Issue 12: the timeline was scoped to the login, so every logout emptied it.
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    auth.logout()
    auth.login(logged_in.email)
    page = client.get("/studio/").get_data(as_text=True)
    assert page.count('data-testid="task-card"') == 1 and task_id in page
    assert "It stays when you log out" in page


def test_new_session_starts_an_empty_timeline(app, client, logged_in):
    task_id = client.post("/studio/tasks", data=SMALL).json["task"]["id"]
    before = client.get("/studio/").get_data(as_text=True)
    response = client.post("/studio/session")
    assert response.status_code == 303
    page = client.get("/studio/").get_data(as_text=True)
    assert 'data-testid="task-card"' not in page
    assert "A new studio session has started" in page
    with app.app_context():
        sessionid = db.session.get(User, logged_in.id).sessionid
    assert sessionid in page and sessionid not in before
    assert client.get(f"/studio/tasks/{task_id}").status_code == 200, "earlier work stays"


@pytest.mark.parametrize("prompt", ["", "   \n "])
def test_an_empty_prompt_is_refused_and_not_charged(app, client, logged_in, prompt):
    before = balance(app, logged_in)
    response = client.post("/studio/tasks", data={**SMALL, "prompt": prompt})
    assert response.status_code == 400
    assert "prompt is required" in response.json["error"]["details"]["prompt"]
    assert balance(app, logged_in) == before
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_sliders_match_what_the_api_accepts(client, logged_in):
    page = client.get("/studio/").get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").json
    body = spec["components"]["schemas"]["TaskRequest"]["properties"]
    assert f'name="cfg_scale" value="7.0" min="1.0" max="{body["cfg_scale"]["maximum"]}' in page
    for side in ("width", "height"):
        assert f'name="{side}"' in page and body[side]["multipleOf"] == 8
        assert f'id="{side}" name="{side}" value="512" min="64" max="1024" step="8"' in page
    assert "Each gets its own seed: the first uses the seed, the next seed + 1" in page
    assert "they use seeds seed, seed+1" not in page


def test_the_quote_prices_without_a_prompt(client, logged_in):
    answer = client.post("/studio/quote", data={"width": "64", "height": "64", "steps": "2"})
    assert answer.status_code == 200 and answer.json["cost"] >= 1
    assert answer.json["affordable"] is True and answer.json["credits"] == 500
    refused = client.post("/studio/quote", data={"width": "1024", "height": "1024"})
    assert refused.status_code == 400
    assert "at most 262144 pixels" in refused.json["error"]["message"]


def test_task_files_are_their_owners(app, client, auth, logged_in, make_user, png_bytes):
    mask = io.BytesIO()
    image = PILImage.new("L", (96, 80), 0)
    image.paste(255, (10, 10, 50, 50))
    image.save(mask, "PNG")
    mask.seek(0)
    data = {**SMALL, "init_image": (png_bytes(), "start.png"), "mask": (mask, "mask.png")}
    task = client.post("/studio/tasks", data=data, content_type="multipart/form-data").json
    assert task["task"]["mode"] == "inpaint" and task["task"]["has_mask"] is True
    task_id = task["task"]["id"]
    for kind in ("init", "mask"):
        response = client.get(f"/studio/tasks/{task_id}/{kind}.png")
        assert response.status_code == 200 and response.mimetype == "image/png"
        response.close()
    assert 'data-testid="task-mask"' in client.get("/studio/").get_data(as_text=True)
    auth.logout()
    auth.login(make_user("other@example.com").email)
    assert client.get(f"/studio/tasks/{task_id}/mask.png").status_code == 404


def test_reuse_of_an_inpaint_task_brings_its_starting_image(app, client, logged_in, png_bytes):
    first = client.post("/studio/tasks", data={**SMALL, "init_image": (png_bytes(), "a.png")},
                        content_type="multipart/form-data").json["task"]
    again = client.post("/studio/tasks", data={**SMALL, "init_task": first["id"]}).json["task"]
    assert again["mode"] == "img2img" and again["has_init_image"] is True


def test_timeline_queries_do_not_grow_with_its_tasks(app, client, logged_in):
    """The studio page and its JSON run the same statements for 2 tasks as for 40 (no N+1)."""
    with app.app_context():
        bulk_images(logged_in.id, 4, per_task=2, sessionid=logged_in.sessionid)
    few = {url: count_for(app, client, url) for url in ("/studio/", "/studio/state")}
    with app.app_context():
        bulk_images(logged_in.id, 76, per_task=2, sessionid=logged_in.sessionid)
    many = {url: count_for(app, client, url) for url in ("/studio/", "/studio/state")}
    assert many == few, f"statements with 2 tasks: {few}, with 40: {many}"
    # The page and its JSON hold the newest 30 cards; "Show earlier" brings the rest.
    assert client.get("/studio/").get_data(as_text=True).count('data-testid="thumbnail"') == 60
    assert len(client.get("/studio/state").json["tasks"]) == 30


def test_a_long_session_opens_with_its_newest_cards_and_shows_earlier_ones_on_request(
        app, client, logged_in, make_user):
    with app.app_context():
        bulk_images(logged_in.id, 65, per_task=1, sessionid=logged_in.sessionid)
        stranger = make_user("stranger@example.com")
        bulk_images(stranger.id, 5, per_task=1, sessionid=stranger.sessionid)
    page = client.get("/studio/").get_data(as_text=True)
    shown = re.findall(r'<article id="task-([^"]+)"', page)
    cursor = re.search(r'data-before="(\d+)"', page).group(1)
    assert len(shown) == 30
    seen = list(shown)
    while cursor:
        more = client.get(f"/studio/cards?before={cursor}")
        assert more.status_code == 200
        seen += re.findall(r'<article id="task-([^"]+)"', more.json["cards"])
        cursor = more.json["before"]
    # Every card of the session once, newest first, none of anybody else's.
    with app.app_context():
        mine = db.session.scalars(select(Task.uuid).where(Task.user_id == logged_in.id)
                                  .order_by(Task.id.desc())).all()
    assert seen == list(mine) and len(seen) == 65
    for bad in ("abc", "-1", "99999999999", str(2**31)):
        refused = client.get(f"/studio/cards?before={bad}")
        assert refused.status_code == 400 and "before" in refused.json["error"]["details"]


def test_a_submit_costs_the_same_statements_with_3_or_30_people_waiting(app, make_user):
    """Everyone waiting hears their new place on each submit: one query for all of them."""
    from tests.querycount import statements

    waiting = [app.test_client() for _ in range(30)]
    for number, person in enumerate(waiting):
        make_user(f"waiting{number}@example.com")
        person.post("/auth/login", data={"email": f"waiting{number}@example.com",
                                         "password": "correct horse battery"})
    newcomer = app.test_client()
    make_user("newcomer@example.com")
    newcomer.post("/auth/login", data={"email": "newcomer@example.com",
                                       "password": "correct horse battery"})

    def submit_counted() -> int:
        with statements(app) as seen:
            assert newcomer.post("/studio/tasks", data=SMALL).status_code == 202
        return len(seen)

    for person in waiting[:3]:
        assert person.post("/studio/tasks", data=SMALL).status_code == 202
    submit_counted()  # the first submit also does once-a-minute bookkeeping
    few = submit_counted()
    for person in waiting[3:]:
        assert person.post("/studio/tasks", data=SMALL).status_code == 202
    many = submit_counted()
    assert many == few, f"statements with 5 waiting: {few}, with 32: {many}"
