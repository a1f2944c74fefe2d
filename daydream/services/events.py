"""Progress events to the owner's Socket.IO room (never anyone else's)."""

from __future__ import annotations

from typing import Any

from daydream.extensions import socketio


def user_room(user_id: int) -> str:
    """The room every socket of one user joins."""
    return f"user:{user_id}"


def publish(user_id: int, event: str, payload: dict[str, Any]) -> None:
    """Send an event to the user's open pages; a user with none simply misses it."""
    socketio.emit(event, payload, to=user_room(user_id))


def disconnect_user(user_id: int) -> None:
    """Close every socket of a user (after logout the socket would otherwise live on)."""
    server = socketio.server
    if server is None:
        return
    room = user_room(user_id)
    for sid, _ in list(server.manager.get_participants("/", room)):
        server.disconnect(sid, namespace="/")
