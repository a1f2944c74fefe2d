"""Submitting and cancelling tasks, and what a person sees of them."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from daydream.engine.errors import ParamError
from daydream.engine.params import MAX_SEED, Limits
from daydream.extensions import db
from daydream.generation import work
from daydream.generation.request import Mode, row_values
from daydream.generation.validate import validate
from daydream.models import Task, TaskState, User
from daydream.models.base import commit_keeping_values, detached_copy
from daydream.runtime import get_runtime
from daydream.services import (
    access,
    allowance,
    credits,
    estimates,
    events,
    lifecycle,
    model_settings,
    statuses,
    storage,
)
from daydream.services.models import ModelEntry
from daydream.services.uploads import InitImage

log = logging.getLogger(__name__)


class SubmissionRefused(Exception):
    """A task was not accepted; nothing was charged. ``status`` suits an HTTP answer."""

    def __init__(self, code: str, message: str, status: int, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class NotCancellable(Exception):
    """The task has already finished."""


def limits() -> Limits:
    """The deployment's generation limits, from the configuration."""
    cfg = current_app.config
    return Limits(
        max_prompt_chars=cfg["MAX_PROMPT_CHARS"], max_pixels=cfg["MAX_PIXELS"],
        max_side=cfg["MAX_SIDE"], max_steps=cfg["MAX_STEPS"], max_samples=cfg["MAX_SAMPLES"],
    )


def cost_of(values: Mapping[str, Any], mode: Mode | str, price_factor: float = 1.0) -> int:
    """Credits a request costs on a model with this price factor (the one price: see
    ``generation.work.cost``)."""
    return work.cost(values, mode, current_app.config["CREDIT_PIXEL_STEPS"], price_factor)


@dataclass
class Quote:
    """What a task would cost and how long it would take, before submitting."""

    values: dict[str, Any]
    mode: Mode
    cost: int
    seconds: float
    queue_seconds: float
    model: ModelEntry | None = None


def quote(data: Mapping[str, Any], mode: Mode | str = Mode.TXT2IMG,
          model: ModelEntry | None = None) -> Quote:
    """Validate parameters, price them on ``model`` and estimate the wait, without charging."""
    mode = Mode(mode)
    values = validate(dict(data), limits(), mode)
    rate = estimates.learned_rate()
    seconds = estimates.estimate_request(values, mode, rate)
    price = model.price if model is not None else 1.0
    return Quote(values, mode, cost_of(values, mode, price), seconds,
                 statuses.queue_wait_seconds(rate), model)


def _check_bounds(user: User) -> None:
    """Count the queue and the user's unfinished tasks, this one included, in one query.
    Called after the charge, whose UPDATE holds the user's row (PostgreSQL) or the write
    lock (SQLite) until commit, so concurrent submits of one user are counted one after the
    other and the user's bound is exact."""
    cfg = current_app.config
    waiting, mine = db.session.execute(
        select(func.count(Task.id).filter(Task.state == TaskState.QUEUED.value),
               func.count(Task.id).filter(Task.user_id == user.id))
        .where(Task.state.in_(TaskState.unfinished()))).one()
    if waiting > cfg["QUEUE_MAX"]:
        raise SubmissionRefused(
            "queue_full", f"The queue is full ({cfg['QUEUE_MAX']} tasks waiting). "
            "Please try again in a little while.", 503, retry_after=30)
    if mine > cfg["QUEUE_MAX_PER_USER"]:
        raise SubmissionRefused(
            "too_many_tasks", f"You already have {mine - 1} unfinished tasks, the most allowed. "
            "Wait for one to finish or cancel one.", 429, retry_after=10)


def submit(user: User, data: Mapping[str, Any], init: InitImage | None = None,
           source: str = "web", mask: InitImage | None = None,
           claim: Callable[[Task], None] | None = None,
           model: ModelEntry | str | None = None) -> Task:
    """Validate, charge and insert in one transaction, then enqueue the task id (or hand it
    to an idle worker, running already).

    ``model`` is the library entry the caller checked, or a library model's name (None: the
    user's default model); its price factor scales the cost. ``claim(task)`` runs in that
    transaction before the charge (an idempotency key); if it raises, nothing is charged
    and the caller rolls back.
    """
    if mask is not None and init is None:
        raise ParamError("mask", "mask needs an init image to repaint")
    mode = Mode.of(init is not None, mask is not None)
    values = validate(dict(data), limits(), mode)
    model = _entry(user, model)
    cost = cost_of(values, mode, model.price)
    allowance.refill(user)
    if values["seed"] is None:
        values["seed"] = secrets.randbelow(MAX_SEED + 1)
    runtime = get_runtime()
    # A worker idle with nobody waiting gets the task handed over, written as running for
    # it: it starts without reading or claiming the row (see queue.local).
    taker = runtime.queue.reserve_idle_worker(model.name)
    try:
        task = _insert_and_charge(user, values, mode, cost, source, model.name, taker, claim)
        if init is not None:
            task.init_image = storage.save_init_image(task, init)
        if mask is not None:
            task.mask = storage.save_mask(task, mask)
        # The rows are kept as written, not read again: the worker starts on the push (or
        # the hand-over), and every query from here on runs beside it.
        commit_keeping_values()
        if taker is not None:
            started = statuses.task_status(task, {})
            runtime.queue.hand(taker, task.id, detached_copy(task, "user"))
            taker = None
            # Said after the hand-over, so the engine need not wait for it; its first step's
            # progress comes long after.
            events.publish(user.id, "task.started", started)
            return task
    finally:
        if taker is not None:  # not handed after all: the worker waits on
            runtime.queue.hand(taker, None)
    # Announced before the push: once pushed, a worker may start it and say so at once, and
    # "queued" must never arrive after "started".
    events.publish(user.id, "task.queued", statuses.task_status(task, {}))  # not in line yet
    try:
        runtime.queue.push(task.id, user.id, task.model)
    except Exception:  # the row is the truth: the reconciler enqueues it again shortly
        log.exception("could not enqueue task %s; the reconciler will", task.id)
    # The fair queue may place a newcomer ahead of others: they hear their new wait. The
    # newcomer's own place comes back in the submit's answer (it may be running already).
    statuses.broadcast_positions(skip=task.id)
    return task


def _insert_and_charge(user: User, values: dict[str, Any], mode: Mode, cost: int, source: str,
                       model_name: str, taker: str | None,
                       claim: Callable[[Task], None] | None) -> Task:
    """Insert the task (running for ``taker`` if one was reserved, else queued) and charge
    for it within the bounds, uncommitted; refused with everything rolled back."""
    started = {"state": TaskState.RUNNING.value, "attempts": 1,
               **lifecycle.running_for(taker)} if taker else {}
    task = Task(user_id=user.id, sessionid=user.sessionid, mode=mode.value, cost=cost,
                source=source, model=model_name, **row_values(values), **started)
    # Its owner (this session's row, not a request proxy): the folder its files go to.
    set_committed_value(task, "user", db.session.get(User, user.id))
    db.session.add(task)
    db.session.flush()
    if claim is not None:
        claim(task)
    try:
        credits.charge(user.id, cost, task_id=task.id)
        _check_bounds(user)
    except credits.InsufficientCredits as error:
        db.session.rollback()
        raise SubmissionRefused("insufficient_credits", str(error), 402) from error
    except SubmissionRefused:
        db.session.rollback()
        raise
    return task


def latest(task: Task) -> Task:
    """The task as it is now: a worker may have started a queued one since it was submitted
    (an answer that shows it reads it again; a caller that only waits for it need not). One
    handed over to a worker is running as written."""
    if task.state == TaskState.QUEUED.value:
        db.session.refresh(task)
    return task


def _entry(user: User, model: ModelEntry | str | None) -> ModelEntry:
    """The library entry a submission runs on (a name is looked up; None: the user's)."""
    if isinstance(model, ModelEntry):
        return model
    if not model:
        return model_settings.user_default(user)
    entry = model_settings.current().get(model)
    if entry is None or not entry.enabled:
        raise ParamError("model", f"Model {model!r} is not an enabled model of this server.")
    return entry


def cancel(task: Task) -> Task:
    """Cancel a queued task (refunded now) or stop a running one at its next step.

    Each branch is a conditional update, so a cancel racing the worker's pickup either wins
    before the task starts or becomes a stop request for the running task, never a refund
    for a task that runs on.
    """
    runtime = get_runtime()
    if lifecycle.cancel_queued(task, "Cancelled before it started"):
        runtime.queue.remove(task.id)
        events.publish(task.user_id, "task.cancelled", statuses.task_status(task))
        statuses.broadcast_positions()  # everyone behind it moves up
        return task
    if lifecycle.request_cancel(task):
        runtime.state.request_cancel(task.id)
        return task
    raise NotCancellable(f"This task is already {task.state}.")


def session_tasks(user: User, limit: int = 100, unfinished: bool = False,
                  before: int | None = None) -> list[Task]:
    """Tasks of the user's current studio session (not their login), newest first;
    ``unfinished``: only those still queued or running; ``before``: older than that id."""
    query = select(Task).where(access.owned_by(user), Task.sessionid == user.sessionid)
    if unfinished:
        query = query.where(Task.state.in_(TaskState.unfinished()))
    if before is not None:
        query = query.where(Task.id < before)
    return list(db.session.scalars(
        query.options(selectinload(Task.images))  # every card shows its images: one query
        .order_by(Task.id.desc()).limit(limit)))

