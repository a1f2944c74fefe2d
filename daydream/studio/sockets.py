"""Socket.IO: logged-in pages join their user's room and get the current state."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, emit, join_room

from daydream.runtime import get_runtime
from daydream.services import events, logins, statuses, tasks


def on_connect(auth=None):
    """Refuse anonymous sockets; join the user's room; send the state from the database."""
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("Log in to receive progress.")
    join_room(events.user_room(current_user.id))
    # Its own login's room too, so ending that login closes exactly these sockets.
    join_room(logins.room(current_user.login_session_id))
    get_runtime(current_app._get_current_object()).state.page_opened(current_user.id)
    where = statuses.positions()
    emit("state", {"tasks": [statuses.task_status(t, where)
                             for t in tasks.session_tasks(current_user, unfinished=True)]})


def on_disconnect(reason=None):
    """Note that one of the user's pages went away."""
    if current_user.is_authenticated:
        get_runtime(current_app._get_current_object()).state.page_closed(current_user.id)


def register(socketio) -> None:
    """Attach the handlers to the app's Socket.IO server (each app has its own server)."""
    socketio.on_event("connect", on_connect)
    socketio.on_event("disconnect", on_disconnect)
