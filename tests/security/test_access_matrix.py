"""Every URL rule and every Socket.IO event, as anonymous, owner, another user and staff.

Each route has a declared expectation below. A new route without one fails
``test_every_route_has_a_declared_expectation``: declare who may use it when you add it.

Outcomes: ``ok`` (allowed: 2xx/3xx, or a 4xx about the input such as 400/409/422),
``login`` (a redirect to the login page, or 401 for the APIs), ``forbidden`` (403),
``hidden`` (404: someone else's object is not confirmed to exist).
Every request is sent without a body, so allowed POSTs fail validation instead of acting,
except where an empty form is a complete request (logout, cancel, hide, toggle, delete).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from daydream import create_app
from daydream.config import TestConfig
from daydream.extensions import db, socketio
from daydream.models import User
from daydream.models.login import LoginSession
from daydream.services import apikeys
from tests.conftest import PASSWORD

ROLES = ("anonymous", "owner", "other", "staff")

PUBLIC = ("ok", "ok", "ok", "ok")
ANY_USER = ("login", "ok", "ok", "ok")          # a logged-in person, about their own things
OWNER_OR_STAFF = ("login", "ok", "hidden", "ok")
OWNER_ONLY = ("login", "ok", "hidden", "hidden")
STAFF_ONLY = ("login", "forbidden", "forbidden", "ok")

EXPECTED: dict[tuple[str, str], tuple[str, str, str, str]] = {
    # Public pages and files.
    ("pages.landing", "GET"): PUBLIC,
    ("pages.docs", "GET"): PUBLIC,
    ("pages.gallery", "GET"): PUBLIC,
    ("pages.terms", "GET"): PUBLIC,
    ("static", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.register", "GET"): PUBLIC,
    ("auth.register", "POST"): PUBLIC,
    ("auth.logout", "POST"): ANY_USER,
    # Password reset and email links: anyone; the (here bogus) token decides.
    ("auth.forgot_password", "GET"): PUBLIC,
    ("auth.forgot_password", "POST"): PUBLIC,
    ("auth.reset_password", "GET"): PUBLIC,
    ("auth.reset_password", "POST"): PUBLIC,
    ("auth.verify_email", "GET"): PUBLIC,
    ("auth.confirm_email_change", "GET"): PUBLIC,
    ("api.docs", "GET"): PUBLIC,
    ("api.openapi_json", "GET"): PUBLIC,
    # Account: always the caller's own.
    ("account.index", "GET"): ANY_USER,
    ("account.profile", "POST"): ANY_USER,
    ("account.email", "POST"): ANY_USER,
    ("account.password", "POST"): ANY_USER,
    ("account.create_key", "POST"): ANY_USER,
    # Answers "No such key" for someone else's key (a flash, not a 404); that the key
    # still works afterwards is checked by test_someone_elses_key_cannot_be_revoked.
    ("account.revoke_key", "POST"): ANY_USER,
    ("account.end_session", "POST"): OWNER_ONLY,  # one of your own logins
    ("account.end_other_sessions", "POST"): ANY_USER,
    ("account.export", "GET"): ANY_USER,
    ("account.delete_images", "POST"): ANY_USER,
    ("account.delete_account", "POST"): ANY_USER,
    ("account.resend_verification", "POST"): ANY_USER,
    # Library: the caller's own images only (staff use the admin pages, not a library).
    ("library.index", "GET"): ANY_USER,
    ("library.selection", "POST"): ANY_USER,
    ("library.image", "GET"): OWNER_ONLY,
    ("library.favourite", "POST"): OWNER_ONLY,
    ("library.share", "POST"): OWNER_ONLY,
    ("library.delete", "POST"): OWNER_ONLY,
    # Studio: tasks and images of the owner; staff may look (and cancel), never share.
    ("studio.index", "GET"): ANY_USER,
    ("studio.state", "GET"): ANY_USER,
    ("studio.earlier_cards", "GET"): ANY_USER,  # the caller's own session only
    ("studio.submit", "POST"): ANY_USER,
    ("studio.quote", "POST"): ANY_USER,
    # A task's init image or mask: the same owner-or-staff check as studio.status; the
    # matrix's task has neither file, so everyone gets 404 (tests/test_studio.py
    # test_task_files_are_their_owners covers a task that has them).
    ("studio.task_file", "GET"): ("login", "hidden", "hidden", "hidden"),
    ("studio.new_session", "POST"): ANY_USER,
    ("studio.status", "GET"): OWNER_OR_STAFF,
    ("studio.card", "GET"): OWNER_OR_STAFF,
    ("studio.download_zip", "GET"): OWNER_OR_STAFF,
    ("studio.cancel", "POST"): OWNER_OR_STAFF,
    ("studio.share", "POST"): OWNER_ONLY,
    # Media: a private image to its owner and staff only (anonymous: hidden, not "log in").
    ("media.image_png", "GET"): ("hidden", "ok", "hidden", "ok"),
    ("media.image_thumb", "GET"): ("hidden", "ok", "hidden", "ok"),
    # Staff pages.
    ("admin.index", "GET"): STAFF_ONLY,
    ("admin.credits", "POST"): STAFF_ONLY,
    ("admin.toggle", "POST"): STAFF_ONLY,
    ("admin.delete", "POST"): STAFF_ONLY,
    ("admin.cancel_task", "POST"): STAFF_ONLY,
    ("admin.end_sessions", "POST"): STAFF_ONLY,
    # Running the place (issue 13): every admin page and action is staff only.
    **{(f"admin.{name}", "GET"): STAFF_ONLY for name in (
        "users", "user", "user_ledger_csv", "queue", "voucher_list", "audit_log", "gallery",
        "archives", "models")},
    **{(f"admin.{name}", "POST"): STAFF_ONLY for name in (
        "set_allowance", "staff", "voucher_create", "voucher_revoke", "curate_image",
        "model_edit", "model_action")},
    # Credits, vouchers and archives of the caller; an archive is its owner's (and staff's).
    ("account.redeem_voucher", "POST"): ANY_USER,
    ("account.ledger_csv", "GET"): ANY_USER,
    ("account.request_archive", "POST"): ANY_USER,
    ("account.archive_status", "GET"): OWNER_OR_STAFF,
    ("account.archive_download", "GET"): OWNER_OR_STAFF,
    # A gallery image page shows public images only (the owner's private one is hidden to
    # all); only the owner may hide or show its prompt.
    ("pages.gallery_image", "GET"): ("hidden", "hidden", "hidden", "hidden"),
    ("pages.prompt_privacy", "POST"): OWNER_ONLY,
    # Native API: a key is required; objects are the key owner's (staff: any).
    ("api.account", "GET"): ANY_USER,
    ("api.info", "GET"): ANY_USER,
    ("api.submit_task", "POST"): ANY_USER,
    ("api.list_tasks", "GET"): ANY_USER,
    ("api.get_task", "GET"): OWNER_OR_STAFF,
    ("api.task_zip", "GET"): OWNER_OR_STAFF,
    ("api.cancel_task", "POST"): OWNER_OR_STAFF,
    ("api.image_png", "GET"): OWNER_OR_STAFF,
    ("api.image_thumb", "GET"): OWNER_OR_STAFF,
    ("api.list_library", "GET"): ANY_USER,
    ("api.delete_images", "POST"): ANY_USER,
    ("api.zip_images", "POST"): ANY_USER,
    ("api.favourite_image", "POST"): OWNER_ONLY,
    ("api.delete_image", "DELETE"): OWNER_ONLY,
    # A1111 API: every call needs a key (like A1111's --api-auth); it acts on the caller's own.
    **{(f"sdapi.{name}", method): ANY_USER for name, method in (
        ("embeddings", "GET"), ("empty_face_restorers", "GET"), ("empty_hypernetworks", "GET"),
        ("img2img", "POST"), ("interrupt", "POST"), ("empty_latent_upscale_modes", "GET"),
        ("loras", "GET"), ("get_options", "GET"), ("set_options", "POST"),
        ("png_info", "POST"), ("progress_view", "GET"), ("empty_prompt_styles", "GET"),
        ("empty_realesrgan_models", "GET"), ("samplers", "GET"), ("schedulers", "GET"),
        ("scripts", "GET"), ("sd_models", "GET"), ("empty_sd_vae", "GET"), ("skip", "POST"),
        ("txt2img", "POST"), ("empty_upscalers", "GET"))},
}

# Socket.IO events: whether each role's connection is accepted.
SOCKET_EXPECTED = {
    "connect": {"anonymous": False, "owner": True, "other": True, "staff": True},
    "disconnect": None,  # no access decision: it only records that a page went away
}


def _routes() -> list[tuple[str, str]]:
    """(endpoint, method) of every rule of a freshly built app (wiring only, no I/O)."""
    app = create_app(TestConfig, instance_path="/nonexistent-matrix-instance")
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


ROUTES = _routes()


def test_every_route_has_a_declared_expectation():
    undeclared = [route for route in ROUTES if route not in EXPECTED]
    assert not undeclared, f"declare who may use these routes in EXPECTED: {undeclared}"
    stale = [route for route in EXPECTED if route not in ROUTES]
    assert not stale, f"these declared routes no longer exist: {stale}"


def test_every_socket_event_has_a_declared_expectation(app):
    events = set(socketio.server.handlers.get("/", {}))
    assert events == set(SOCKET_EXPECTED), "declare new Socket.IO events in SOCKET_EXPECTED"


@dataclass
class World:
    """The owner's objects and one client (with API headers) per role."""

    app: Flask
    clients: dict[str, FlaskClient]
    headers: dict[str, dict[str, str]]
    values: dict[str, object]


@pytest.fixture
def world(app, make_user, make_image) -> World:
    """Owner (a private image in a finished task, an API key), another user, staff."""
    owner = make_user("owner@example.com")
    people = {"owner": owner, "other": make_user("other@example.com"),
              "staff": make_user("staff@example.com", staff=True)}
    made = make_image(owner)
    clients = {"anonymous": app.test_client()}
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    key_id = None
    for role, person in people.items():
        client = app.test_client()
        assert client.post("/auth/login", data={"email": person.email, "password": PASSWORD}
                           ).status_code == 302
        clients[role] = client
        with app.app_context():
            key, token = apikeys.create_key(db.session.get(User, person.id), "matrix")
            key_id = key.id if role == "owner" else key_id
        headers[role] = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        login_id = db.session.scalar(select(LoginSession.id).where(
            LoginSession.user_id == owner.id).order_by(LoginSession.id.desc()))
    values = {"task_uuid": made.task, "task_id": made.task, "image_uuid": made.image,
              "image_id": made.image, "user_id": owner.id, "key_id": key_id,
              "login_id": login_id, "filename": "js/studio.js", "action": "hide",
              "token": "not-a-real-token", "kind": "init",
              **running_the_place(app, owner, people["staff"])}
    return World(app, clients, headers, values)


def running_the_place(app: Flask, owner: User, staff: User) -> dict[str, object]:
    """A voucher, and a finished archive of the owner's (a real file to download)."""
    from daydream.models import Archive
    from daydream.models.base import utcnow
    from daydream.services import account_archive, vouchers

    with app.app_context():
        voucher, _code = vouchers.create(db.session.get(User, staff.id), 10)
        archive = Archive(user_id=owner.id, state="ready", images_total=1, images_done=1,
                          path="matrix.zip", expires_at=utcnow().replace(year=2999))
        db.session.add(archive)
        db.session.commit()
        folder = account_archive.archive_folder()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "matrix.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
        return {"voucher_id": voucher.id, "archive_uuid": archive.uuid}


def outcome(response) -> str:
    """The access decision a response shows."""
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if status == 401 or (300 <= status < 400 and "/auth/login" in response.location):
        return "login"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "hidden"
    return "ok"


@pytest.mark.parametrize(("endpoint", "method"), ROUTES, ids=[f"{m} {e}" for e, m in ROUTES])
def test_route_access(world, endpoint, method):
    expected = EXPECTED.get((endpoint, method))
    if expected is None:
        pytest.fail(f"no declared expectation for {method} {endpoint}")
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint)
    with world.app.test_request_context():
        url = url_for(endpoint, **{name: world.values[name] for name in rule.arguments})
    seen = {}
    # Staff last: its allowed actions (delete, disable) would change what others see.
    for role in ("anonymous", "other", "owner", "staff"):
        response = world.clients[role].open(url, method=method, headers=world.headers[role])
        response.close()
        seen[role] = outcome(response)
    wanted = dict(zip(ROLES, expected, strict=True))
    assert seen == wanted, f"{method} {url}"


def test_socket_connections(world):
    for role, accepted in SOCKET_EXPECTED["connect"].items():
        client = socketio.test_client(world.app, flask_test_client=world.clients[role])
        assert client.is_connected() is accepted, role
        if accepted:
            client.disconnect()


def test_someone_elses_key_cannot_be_revoked(world):
    url = f"/account/keys/{world.values['key_id']}/revoke"
    for role in ("other", "staff"):
        world.clients[role].post(url)
        still = world.clients["anonymous"].get("/api/v1/account", headers=world.headers["owner"])
        assert still.status_code == 200, role
    world.clients["owner"].post(url)
    gone = world.clients["anonymous"].get("/api/v1/account", headers=world.headers["owner"])
    assert gone.status_code == 401
