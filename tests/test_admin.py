"""The staff admin panel: every page's access, users, the user page, staff roles, audit."""

import pytest
from flask import Flask

from daydream.extensions import db
from daydream.models import AuditEntry, EntryKind, Role, User
from daydream.services.credits import ledger_total


@pytest.fixture
def as_staff(client, auth, staff):
    auth.login(staff.email)
    return staff


def admin_get_urls(app: Flask, ids: dict[str, str]) -> list[str]:
    """Every GET rule of the admin blueprint, with its arguments filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and "GET" in rule.methods:
            urls.append(rule.rule.replace("<int:user_id>", ids["user_id"]))
    return urls


def test_every_admin_page_as_anonymous_user_and_staff(app, client, auth, user, staff):
    urls = admin_get_urls(app, {"user_id": str(user.id)})
    assert len(urls) >= 8, urls
    posts = [rule.rule for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("admin.") and "POST" in rule.methods]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location, url
    for rule in posts:
        assert client.post(rule.replace("<int:user_id>", str(user.id))).status_code in (302, 404)
    auth.login(user.email)
    for url in urls:
        assert client.get(url).status_code == 403, url
    for rule in posts:
        url = rule.replace("<int:user_id>", str(user.id)).replace("<int:voucher_id>", "1")
        assert client.post(url).status_code in (403, 404), url
    auth.logout()
    auth.login(staff.email)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_admin_menu_only_for_staff(client, auth, user, staff):
    auth.login(user.email)
    assert b'href="/admin/"' not in client.get("/").data
    auth.logout()
    auth.login(staff.email)
    assert b'href="/admin/"' in client.get("/").data


def test_users_list_search_sort_and_pages(app, client, as_staff, make_user):
    for index in range(30):
        make_user(f"person{index:02d}@example.com", credits=index)
    page = client.get("/admin/users?sort=credits").get_data(as_text=True)
    assert "31 users" in page and "Page 1 of 2" in page
    assert page.index("staff@example.com") < page.index("person29@example.com")  # 500 first
    second = client.get("/admin/users?sort=credits&page=2").get_data(as_text=True)
    assert "person00@example.com" in second and "person29@example.com" not in second
    found = client.get("/admin/users?q=person07").get_data(as_text=True)
    assert "person07@example.com" in found and "person08@example.com" not in found
    by_email = client.get("/admin/users?sort=email").get_data(as_text=True)
    assert by_email.index("person00@") < by_email.index("person01@")


def test_user_page_shows_profile_ledger_tasks_and_keys(app, client, as_staff, user, make_task):
    from daydream.services import apikeys

    with app.app_context():
        apikeys.create_key(db.session.get(User, user.id), "my-bot")
    make_task(user, prompt="a heron in fog")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert user.email in page and "a heron in fog" in page and "my-bot" in page
    assert "Starting credits" in page
    assert client.get("/admin/users/9999").status_code == 404


def test_grant_and_remove_credits_are_their_own_kinds(app, client, as_staff, user):
    response = client.post(f"/admin/users/{user.id}/credits", data={"amount": "250",
                                                                     "note": "prize"})
    assert response.status_code == 303
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "-50", "note": "oops"})
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert fresh.credits == app.config["STARTING_CREDITS"] + 200
        assert ledger_total(user.id) == fresh.credits
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert 'data-kind="grant"' in page and 'data-kind="revoke"' in page
    assert "Removed by staff" in page and "oops" in page and "by staff@example.com" in page


def test_removing_more_than_the_balance_says_so(app, client, as_staff, user):
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "-100000"})
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    balance = app.config["STARTING_CREDITS"]
    assert f"Cannot remove 100000 credits: the balance is only {balance}." in page
    assert "This needs" not in page
    with app.app_context():
        assert db.session.get(User, user.id).credits == balance


def test_bad_credit_amount(client, as_staff, user):
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "lots"})
    assert b"Enter a non-zero amount." in client.get(f"/admin/users/{user.id}").data


def test_disable_and_delete(app, client, as_staff, user):
    client.post(f"/admin/users/{user.id}/toggle")
    with app.app_context():
        assert db.session.get(User, user.id).active is False
    assert client.post(f"/admin/users/{user.id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(User, user.id) is None
        # The ledger went with the account, the audit log keeps who did it.
        assert db.session.query(AuditEntry).filter_by(action="user.delete").one().target \
            == user.email


def test_staff_cannot_disable_demote_or_delete_themselves(app, client, as_staff):
    client.post(f"/admin/users/{as_staff.id}/toggle")
    client.post(f"/admin/users/{as_staff.id}/staff", data={"make": "0"})
    client.post(f"/admin/users/{as_staff.id}/delete")
    page = client.get(f"/admin/users/{as_staff.id}").get_data(as_text=True)
    assert "cannot disable your own account" in page
    assert "cannot remove your own staff role" in page
    assert "cannot delete your own account" in page
    with app.app_context():
        me = db.session.get(User, as_staff.id)
        assert me.is_staff and me.active


def test_make_and_unmake_staff(app, client, as_staff, user):
    client.post(f"/admin/users/{user.id}/staff", data={"make": "1"})
    with app.app_context():
        assert db.session.get(User, user.id).role == Role.STAFF.value
    client.post(f"/admin/users/{user.id}/staff", data={"make": "0"})
    with app.app_context():
        assert db.session.get(User, user.id).role == Role.USER.value


def test_the_last_staff_account_cannot_be_removed(app, staff, make_user):
    from daydream.services import admin

    other = make_user("second@example.com", staff=True)
    with app.app_context():
        me, colleague = db.session.get(User, staff.id), db.session.get(User, other.id)
        admin.set_staff(colleague, me, False)  # two staff: fine
        colleague.active = False
        db.session.commit()
        colleague.role = Role.STAFF.value
        db.session.commit()
        # The only *active* staff account may not lose the role, be disabled or deleted.
        with pytest.raises(admin.AdminError, match="last staff account"):
            admin.set_staff(me, colleague, False)
        with pytest.raises(admin.AdminError, match="last active staff"):
            admin.toggle_active(me, colleague)
        with pytest.raises(admin.AdminError, match="last active staff"):
            admin.delete_user(me, colleague)
        assert db.session.get(User, staff.id).is_staff


def test_the_audit_log_records_each_admin_action(app, client, as_staff, user, make_task):
    from daydream.services import gallery, storage  # noqa: F401

    client.post(f"/admin/users/{user.id}/credits", data={"amount": "10", "note": "hello"})
    client.post(f"/admin/users/{user.id}/credits", data={"amount": "-5"})
    client.post(f"/admin/users/{user.id}/allowance", data={"allowance": "100"})
    client.post(f"/admin/users/{user.id}/staff", data={"make": "1"})
    client.post(f"/admin/users/{user.id}/staff", data={"make": "0"})
    client.post(f"/admin/users/{user.id}/toggle")
    client.post(f"/admin/users/{user.id}/toggle")
    client.post("/admin/vouchers", data={"amount": "5", "max_uses": "2"})
    client.post(f"/admin/users/{user.id}/end-sessions")
    with app.app_context():
        entries = db.session.query(AuditEntry).order_by(AuditEntry.id).all()
        assert [e.action for e in entries] == [
            "credits.grant", "credits.remove", "user.allowance", "user.staff", "user.unstaff",
            "user.disable", "user.enable", "voucher.create", "user.end_sessions"]
        assert all(e.actor_email == as_staff.email for e in entries)
        grant = entries[0]
        start = app.config["STARTING_CREDITS"]
        assert grant.before == {"credits": start}
        assert grant.after == {"credits": start + 10, "note": "hello"}
        assert grant.target_user_id == user.id and grant.created_at is not None
    page = client.get("/admin/audit").get_data(as_text=True)
    assert page.count('data-testid="audit-entry"') == 9
    assert "credits.remove" in page and user.email in page
    only = client.get("/admin/audit?action=user.staff").get_data(as_text=True)
    assert only.count('data-testid="audit-entry"') == 1
    assert "user.staff" in client.get(f"/admin/users/{user.id}").get_data(as_text=True)


def test_queue_page_shows_tasks_and_staff_can_cancel(app, client, auth, user, staff):
    from tests.conftest import SMALL

    auth.login(user.email)
    task_id = client.post("/studio/tasks", data={**SMALL, "prompt": "waiting patiently"}
                          ).json["task"]["id"]
    auth.logout()
    auth.login(staff.email)
    page = client.get("/admin/queue").get_data(as_text=True)
    assert "waiting patiently" in page and user.email in page
    assert client.post(f"/admin/tasks/{task_id}/cancel").status_code == 303
    assert "The queue is empty." in client.get("/admin/queue").get_data(as_text=True)
    auth.logout()
    auth.login(user.email)
    assert client.get(f"/studio/tasks/{task_id}").json["state"] == "cancelled"
    with app.app_context():
        assert db.session.get(User, user.id).credits == app.config["STARTING_CREDITS"]
        assert db.session.query(AuditEntry).filter_by(action="task.cancel").count() == 1


def test_queue_page_shows_the_embedded_worker(app, client, as_staff, worker):
    page = client.get("/admin/queue").get_data(as_text=True)
    assert 'data-testid="admin-worker"' in page and "alive" in page
    assert worker.engine.model_name in page


def test_staff_ledger_csv_of_anyone(app, client, as_staff, user):
    response = client.get(f"/admin/users/{user.id}/ledger.csv")
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert text.splitlines()[0] == "id,time_utc,kind,change,balance,task,by,note"
    assert f",{EntryKind.SIGNUP.value},{app.config['STARTING_CREDITS']}," in text


def test_hostile_input_on_the_new_forms_never_gets_a_server_error(app, client, auth, staff,
                                                                   user):
    from tests.security.test_fuzz import NASTY, _safe

    app.config.update(VOUCHER_ATTEMPTS_PER_MINUTE=0, VOUCHER_ATTEMPTS_PER_HOUR=0)
    auth.login(staff.email)
    for value in NASTY:
        value = _safe({"v": value})["v"]
        requests = [
            ("POST", "/admin/vouchers", {"amount": value, "max_uses": value,
                                         "expires_on": value, "note": value}),
            ("POST", f"/admin/users/{user.id}/allowance", {"allowance": value}),
            ("POST", f"/admin/users/{user.id}/credits", {"amount": value, "note": value}),
            ("POST", f"/admin/users/{user.id}/staff", {"make": value}),
            ("GET", "/admin/users", {"q": value, "sort": value, "page": value}),
            ("GET", f"/admin/users/{user.id}", {"page": value}),
            ("GET", "/admin/audit", {"action": value, "page": value}),
            ("GET", "/admin/gallery", {"show": value, "page": value}),
            ("GET", "/gallery", {"q": value, "page": value}),
            ("POST", "/account/voucher", {"voucher-code": value}),
            ("GET", "/account/", {"tab": "credits", "page": value}),
        ]
        for method, url, data in requests:
            response = (client.get(url, query_string=data) if method == "GET"
                        else client.post(url, data=data))
            assert response.status_code < 500, (method, url, repr(value))
