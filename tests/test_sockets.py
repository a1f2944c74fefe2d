"""Progress over Socket.IO: only logged-in users, and only their own events."""


from daydream.extensions import socketio
from daydream.services import events
from tests.conftest import SMALL, wait_for


def socket_for(app, email, make_user):
    """A logged-in HTTP client and a Socket.IO client sharing its cookie."""
    user = make_user(email)
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": "correct horse battery"})
    return user, client, socketio.test_client(app, flask_test_client=client)


def names(received):
    return [event["name"] for event in received]


def test_anonymous_socket_is_refused(app):
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()


def test_connect_sends_current_state(app, make_user):
    user, client, socket = socket_for(app, "a@example.com", make_user)
    assert socket.is_connected()
    assert names(socket.get_received()) == ["state"]
    client.post("/studio/tasks", data=SMALL)
    socket.disconnect()
    reconnected = socketio.test_client(app, flask_test_client=client)
    state = reconnected.get_received()[0]
    assert state["name"] == "state"
    assert [t["state"] for t in state["args"][0]["tasks"]] == ["queued"]


def test_users_only_receive_their_own_events(app, make_user):
    alice, alice_http, alice_socket = socket_for(app, "alice@example.com", make_user)
    bob, bob_http, bob_socket = socket_for(app, "bob@example.com", make_user)
    alice_socket.get_received(), bob_socket.get_received()
    alice_http.post("/studio/tasks", data=SMALL)
    assert names(alice_socket.get_received()) == ["task.queued"]
    assert bob_socket.get_received() == []


def test_progress_events_reach_the_owner_live(app, make_user, worker):
    user, client, socket = socket_for(app, "live@example.com", make_user)
    other, _, other_socket = socket_for(app, "other@example.com", make_user)
    socket.get_received(), other_socket.get_received()
    task_id = client.post("/studio/tasks", data={**SMALL, "steps": "3"}).json["task"]["id"]
    received = []
    wait_for(lambda: received.extend(socket.get_received()) or "task.done" in names(received))
    progress = [e["args"][0] for e in received if e["name"] == "task.progress"]
    assert [p["step"] for p in progress] == [1, 2, 3]
    assert all(p["id"] == task_id and p["total"] == 3 for p in progress)
    assert progress[-1]["preview"].startswith("data:image/jpeg;base64,")
    order = [n for n in names(received) if n != "task.progress"]
    assert order in (["task.queued", "task.started", "task.done"], ["task.started", "task.done"])
    assert other_socket.get_received() == []


def test_progress_and_previews_are_paced_by_the_configured_intervals(app, make_user, worker):
    app.config.update(PROGRESS_INTERVAL=3600, PREVIEW_INTERVAL=3600)
    user, client, socket = socket_for(app, "paced@example.com", make_user)
    socket.get_received()
    client.post("/studio/tasks", data={**SMALL, "steps": "5"})
    received = []
    wait_for(lambda: received.extend(socket.get_received()) or "task.done" in names(received))
    progress = [e["args"][0] for e in received if e["name"] == "task.progress"]
    # The first step (with its preview), then nothing until the sampling's last step.
    assert [p["step"] for p in progress] == [1, 5]
    assert "preview" in progress[0] and "preview" not in progress[1]


def test_logout_closes_the_socket(app, make_user):
    user, client, socket = socket_for(app, "leaving@example.com", make_user)
    client.post("/auth/logout")
    assert not socket.is_connected()


def test_events_for_a_user_without_pages_reach_nobody_else(app, make_user):
    _, _, watcher = socket_for(app, "watcher@example.com", make_user)
    watcher.get_received()
    with app.app_context():
        events.publish(12345, "task.done", {"id": "x"})
    assert watcher.get_received() == []
