"""Progress events to the owner's Socket.IO room (never anyone else's)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from daydream.extensions import socketio

log = logging.getLogger(__name__)
FINAL_EVENTS = {"task.done", "task.failed", "task.cancelled"}


def user_room(user_id: int) -> str:
    """The room every socket of one user joins."""
    return f"user:{user_id}"


def publish(user_id: int, event: str, payload: dict[str, Any]) -> None:
    """Send an event to the user's open pages; a user with none simply misses it.

    Never raises: events are not durable (pages re-read the database on connect), so a
    publish that fails must not fail the task that sent it.
    """
    # A worker process emits through a write-only Redis manager, not a Socket.IO server.
    emitter = current_app.extensions.get("daydream.emitter")
    try:
        if emitter is not None:
            emitter.emit(event, payload, namespace="/", room=user_room(user_id))
        else:
            socketio.emit(event, payload, to=user_room(user_id))
    except Exception as error:
        log.warning("could not publish %s to user %s: %s", event, user_id, error)
    if event in FINAL_EVENTS:
        from daydream.runtime import get_runtime

        get_runtime().state.task_finished(payload["id"])


def disconnect_user(user_id: int) -> None:
    """Close every socket of a user (when the account is disabled or deleted)."""
    disconnect_room(user_room(user_id))


def disconnect_room(room: str) -> None:
    """Close every socket in a room (a socket keeps its login after that login ends)."""
    server = socketio.server
    if server is None:
        return
    for sid, _ in list(server.manager.get_participants("/", room)):
        server.disconnect(sid, namespace="/")
