"""The staff admin panel."""

import pytest

from daydream.extensions import db
from daydream.models import User
from daydream.services.credits import ledger_total


@pytest.fixture
def as_staff(client, auth, staff):
    auth.login(staff.email)
    return staff


def test_admin_is_staff_only(client, auth, user):
    assert client.get("/admin/").status_code == 302  # anonymous → login
    auth.login(user.email)
    assert client.get("/admin/").status_code == 403
    assert b"Admin" not in client.get("/").data


def test_staff_sees_menu_and_users(client, as_staff, user):
    assert b'href="/admin/"' in client.get("/").data
    page = client.get("/admin/").get_data(as_text=True)
    assert user.email in page and as_staff.email in page


def test_search_users(client, as_staff, make_user):
    make_user("findme@example.com")
    page = client.get("/admin/?q=findme").get_data(as_text=True)
    assert "findme@example.com" in page
    assert "dreamer@example.com" not in page


def test_grant_and_remove_credits(app, client, as_staff, user):
    response = client.post(f"/admin/users/{user.id}/credits", data={"amount": "250"})
    assert response.status_code == 303
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "-50", "note": "oops"})
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert fresh.tokens == app.config["STARTING_CREDITS"] + 200
        assert ledger_total(user.id) == fresh.tokens


def test_cannot_remove_more_than_balance(app, client, as_staff, user):
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "-99999"})
    page = client.get("/admin/").get_data(as_text=True)
    assert "This needs 99999 credits" in page
    with app.app_context():
        assert db.session.get(User, user.id).tokens == app.config["STARTING_CREDITS"]


def test_bad_credit_amount(client, as_staff, user):
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "lots"})
    assert b"Enter a non-zero amount." in client.get("/admin/").data


def test_disable_and_delete(app, client, auth, as_staff, user):
    client.post(f"/admin/users/{user.id}/toggle")
    with app.app_context():
        assert db.session.get(User, user.id).active is False
    client.post(f"/admin/users/{user.id}/delete")
    with app.app_context():
        assert db.session.get(User, user.id) is None


def test_staff_cannot_disable_self(app, client, as_staff):
    client.post(f"/admin/users/{as_staff.id}/toggle")
    assert b"cannot disable your own account" in client.get("/admin/").data


def test_unknown_user_is_404(client, as_staff):
    assert client.post("/admin/users/9999/toggle").status_code == 404


def test_queue_is_shown_and_staff_can_cancel(app, client, auth, user, staff):
    from tests.conftest import SMALL

    auth.login(user.email)
    task_id = client.post("/studio/tasks", data={**SMALL, "prompt": "waiting patiently"}
                          ).json["task"]["id"]
    auth.logout()
    auth.login(staff.email)
    page = client.get("/admin/").get_data(as_text=True)
    assert "waiting patiently" in page and user.email in page
    assert client.post(f"/admin/tasks/{task_id}/cancel").status_code == 303
    assert "The queue is empty." in client.get("/admin/").get_data(as_text=True)
    auth.logout()
    auth.login(user.email)
    assert client.get(f"/studio/tasks/{task_id}").json["state"] == "cancelled"
    with app.app_context():
        assert db.session.get(User, user.id).tokens == app.config["STARTING_CREDITS"]
