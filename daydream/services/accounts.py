"""Account self-service: stop a person's tasks, export their data, delete images or account.

Deleting an account keeps its row and ledger, anonymised: the operator's books still add up,
and nothing in them names the person any more.
"""

from __future__ import annotations

import json
import secrets
import time

from flask import current_app
from sqlalchemy import delete, select

from daydream.extensions import db
from daydream.models import ApiKey, CreditEntry, Task, TaskState, User
from daydream.models.base import new_uuid, utcnow
from daydream.services import archives, events, library, logins, statuses, storage, tasks
from daydream.services.passwords import hash_password, verify_password
from daydream.services.users import AccountError


def stop_unfinished_tasks(user: User, wait_seconds: float = 0.0) -> int:
    """Cancel the user's queued tasks (refunded now) and stop running ones (refunded by the
    worker when it lets go), waiting up to ``wait_seconds`` for that; returns how many still
    run. Deleting rows under a running task would crash its run, so callers that delete wait.
    """
    unfinished = list(db.session.scalars(select(Task).where(
        Task.user_id == user.id, Task.state.in_(TaskState.unfinished()))))
    for task in unfinished:
        try:
            tasks.cancel(task)
        except tasks.NotCancellable:
            pass  # it finished meanwhile
    running = [t for t in unfinished if t.state == TaskState.RUNNING.value]
    deadline = time.monotonic() + wait_seconds
    while running and time.monotonic() < deadline:
        time.sleep(0.05)
        for task in running:
            db.session.refresh(task)
        db.session.commit()  # end the read transaction so the worker's writes land (SQLite)
        running = [t for t in running if t.state == TaskState.RUNNING.value]
    return len(running)


def _require_password(user: User, password: str) -> None:
    if not verify_password(user.password_hash, password or ""):
        raise AccountError("Your password is not correct.", "password")


def delete_my_images(user: User, password: str) -> int:
    """Delete every finished task of the user with its images and files (password checked)."""
    _require_password(user, password)
    return library.delete_all_images(user)


def delete_account(user: User, password: str) -> None:
    """Delete the person's account: tasks, images, files and keys go; the row and ledger stay,
    anonymised. Raises AccountError for a wrong password or a task that would not stop."""
    _require_password(user, password)
    still_running = stop_unfinished_tasks(
        user, current_app.config["ACCOUNT_DELETE_WAIT_SECONDS"])
    if still_running:
        raise AccountError("A task of yours is still stopping; try again in a moment.",
                           "password")
    user_id, user_uuid = user.id, user.uuid
    for task in list(db.session.scalars(select(Task).where(Task.user_id == user_id))):
        db.session.delete(task)
    db.session.execute(delete(ApiKey).where(ApiKey.user_id == user_id))
    user.email = f"deleted-{user_uuid}@deleted.invalid"
    user.username = user.first_name = user.last_name = user.mobile = None
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # no one knows it
    user.sessionid = new_uuid()
    user.active = False
    user.email_verified_at = None
    user.deleted_at = utcnow()
    db.session.commit()
    logins.end_all(user, "account deleted")
    events.disconnect_user(user_id)
    storage.delete_user_files(user_uuid)


def export_data(user: User) -> tuple[str, bytes]:
    """(file name, JSON) of everything kept about the user but the image files themselves.

    The PNGs are the account archive's business (built in the background, not in a web
    request): each image's ``file`` here is its name inside that archive.
    """
    all_tasks = list(db.session.scalars(
        select(Task).where(Task.user_id == user.id).order_by(Task.id)))
    ledger = db.session.scalars(
        select(CreditEntry).where(CreditEntry.user_id == user.id).order_by(CreditEntry.id))
    document = {
        "account": {"id": user.uuid, "email": user.email, "username": user.username,
                    "first_name": user.first_name, "last_name": user.last_name,
                    "mobile": user.mobile, "credits": user.credits, "role": user.role,
                    "created_at": _iso(user.created_at),
                    "email_verified_at": _iso(user.email_verified_at)},
        "images_note": "The image files are in your image archive (Account, Archive tab); "
                       "each image's 'file' is its name there.",
        "ledger": [{"delta": e.delta, "balance_after": e.balance_after, "kind": e.kind,
                    "note": e.note, "created_at": _iso(e.created_at)} for e in ledger],
        "api_keys": [{"name": k.name, "prefix": k.prefix, "created_at": _iso(k.created_at),
                      "last_used_at": _iso(k.last_used_at)} for k in user.api_keys],
        "tasks": [_task_record(task) for task in all_tasks],
    }
    return f"daydream-data-{user.uuid}.json", json.dumps(document, indent=2).encode()


def _task_record(task: Task) -> dict:
    record = statuses.task_status(task, {})
    for transient in ("position", "eta", "progress"):
        record.pop(transient, None)
    record["images"] = [{"id": i.uuid, "seed": i.seed, "width": i.width, "height": i.height,
                         "favourite": bool(i.favourite), "public": i.public,
                         "file": archives.download_name(i)} for i in task.images]
    return record


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None
