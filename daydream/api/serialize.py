"""What the native API returns: tasks, images, quotes and the caller's account as JSON."""

from __future__ import annotations

from flask import current_app, url_for
from sqlalchemy import func, select

from daydream.api.info import limits_view
from daydream.extensions import db
from daydream.models import ApiKey, Image, Task, TaskState, User
from daydream.services import statuses, tasks
from daydream.services.models import ModelEntry


def image_view(image: Image) -> dict:
    """One image, with API download URLs (the key works there; cookies are not needed)."""
    view = statuses.image_view(image)
    view["url"] = url_for("api.image_png", image_id=image.uuid)
    view["thumb_url"] = url_for("api.image_thumb", image_id=image.uuid)
    return view


def library_image_view(image: Image) -> dict:
    """One library image: settings, favourite, and API download URLs."""
    from daydream.services.library import image_details

    view = image_details(image)
    view["url"] = url_for("api.image_png", image_id=image.uuid)
    view["thumb_url"] = url_for("api.image_thumb", image_id=image.uuid)
    view["zip_url"] = url_for("api.task_zip", task_id=image.task.uuid)
    return view


def task_view(task: Task, where: dict | None = None) -> dict:
    """A task as the API shows it: state, place, ETA, progress, cost, images and links."""
    view = statuses.task_status(task, where)
    progress = view["progress"]
    if progress["total"]:
        fraction = min(1.0, progress["step"] / progress["total"])
    else:
        fraction = 1.0 if task.state == TaskState.DONE.value else 0.0
    progress["fraction"] = round(fraction, 4)
    view["source"] = task.source
    view["images"] = [image_view(image) for image in task.images]
    view["zip_url"] = url_for("api.task_zip", task_id=task.uuid) if task.images else None
    return view


def quote_view(quote: tasks.Quote, user: User) -> dict:
    """A dry run: what the task would cost and when it would be done, nothing charged."""
    return {
        "dry_run": True, "mode": quote.mode.value, "cost": quote.cost,
        "credits": user.credits, "affordable": user.credits >= quote.cost,
        "eta": round(quote.queue_seconds + quote.seconds, 1),
        "queue_seconds": round(quote.queue_seconds, 1), "run_seconds": round(quote.seconds, 1),
        "params": quote.values, "model": model_view(quote.model),
    }


def model_view(entry: ModelEntry | None) -> dict | None:
    """A model as quotes show it: its name, display name and price factor."""
    if entry is None:
        return None
    return {"name": entry.name, "title": entry.title, "price_factor": entry.price}


def account_view(user: User, key: ApiKey) -> dict:
    """The caller's account: balance, limits, rate limit and the key in use."""
    cfg = current_app.config
    unfinished = db.session.scalar(select(func.count(Task.id)).where(
        Task.user_id == user.id, Task.state.in_(TaskState.unfinished()))) or 0
    return {
        "id": user.uuid, "email": user.email, "display_name": user.display_name,
        "role": user.role, "credits": user.credits, "unfinished_tasks": unfinished,
        "limits": limits_view(),
        "rate_limit": {"per_minute": cfg["API_RATE_LIMIT"], "burst": cfg["API_RATE_BURST"],
                       "account_per_minute": cfg["API_ACCOUNT_RATE_LIMIT"]},
        "key": {"name": key.name, "prefix": key.prefix},
    }
