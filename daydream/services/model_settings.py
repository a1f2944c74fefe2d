"""Staff's model settings, stored in the database and overlaid on the scanned library.

The scan (``services.models``) finds what is on disk; a ``model_setting`` row per model
holds what staff changed on the admin page: display name, default size, price factor,
enabled, and which model is the default. Every process reads the same rows, so a change
applies to every web process and worker at the next request or task, without a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError

from daydream.engine.params import Limits
from daydream.extensions import db
from daydream.models import ModelSetting, User
from daydream.request_memo import forget, once_per_request
from daydream.services import audit
from daydream.services.model_choice import ModelRefused, choose_model
from daydream.services.models import Library, LibraryError, ModelEntry, library_for

log = logging.getLogger(__name__)

MAX_PRICE = 100.0
# Any number identifies the lock; it only has to be the same in every process.
_LOCK_KEY = 0x6D6F64656C  # "model"


class SettingRefused(ValueError):
    """A staff change that would leave the library unusable; the message says why."""


def overlay(library: Library) -> Library:
    """Apply the database's settings to a scanned library (in place) and return it."""
    try:
        rows = list(db.session.scalars(select(ModelSetting)))
    except SQLAlchemyError:  # a database without the table yet: the scan alone
        db.session.rollback()
        log.warning("model settings unavailable; using the scanned library", exc_info=True)
        return library
    wanted_default = None
    for row in rows:
        entry = library.models.get(row.name)
        if entry is None:
            continue  # settings of a model no longer on disk stay for when it returns
        if row.title:
            entry.title = row.title
        entry.width = row.width or entry.width
        entry.height = row.height or entry.height
        entry.price = row.price or entry.price
        if row.enabled is not None:
            entry.enabled = row.enabled
        if row.is_default:
            wanted_default = row.name
    library.default = _default(library, wanted_default)
    return library


def _default(library: Library, wanted: str | None) -> str:
    """Staff's default if enabled, else the scan's if still enabled, else the first enabled."""
    for name in (wanted, library.default):
        if name in library.models and library.models[name].enabled:
            return name
    enabled = library.enabled()
    return enabled[0].name if enabled else library.default


def current() -> Library:
    """The library every part of the app uses: the scan now, with the staff's settings
    (read once a request: a page or a submit names models several times)."""
    return once_per_request("model_library", _read)


def _read() -> Library:
    return library_for(current_app.config, current_app.instance_path)


@dataclass
class Edit:
    """The editable settings of one model, as staff typed them (validated)."""

    title: str
    width: int
    height: int
    price: float


def _snapshot(entry: ModelEntry, library: Library) -> dict[str, Any]:
    return {"title": entry.title, "width": entry.width, "height": entry.height,
            "price": entry.price, "enabled": entry.enabled,
            "default": library.default == entry.name}


def _lock() -> None:
    """Serialise staff changes to the model settings until this transaction ends, so the
    checks that follow read what the last change committed (two staff disabling the last
    two models at once cannot both succeed).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: a write that changes nothing
    still takes the database's write lock, held until commit or rollback.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        db.session.execute(text("UPDATE model_setting SET name = name WHERE 1 = 0"))


def _row(name: str) -> ModelSetting:
    row = db.session.scalar(select(ModelSetting).where(ModelSetting.name == name))
    if row is None:
        row = ModelSetting(name=name, is_default=False)
        db.session.add(row)
    return row


def _change(actor: User, name: str, action: str, apply, guard=None) -> ModelEntry:
    """Lock, check ``guard(library)``, apply ``apply(row)``, check an enabled model is left,
    and write the audit entry, all in one transaction."""
    if name not in current().models:
        raise SettingRefused(f"Model {name!r} is not in the library.")
    forget("model_library")  # what this request read may change now
    _lock()
    library = _read()  # read under the lock: another staff change may have landed
    try:
        if name not in library.models:  # its file went away meanwhile
            raise SettingRefused(f"Model {name!r} is not in the library.")
        if guard is not None:
            guard(library)
    except SettingRefused:
        db.session.rollback()  # let go of the lock
        raise
    before = _snapshot(library.models[name], library)
    apply(_row(name))
    db.session.flush()
    changed = _read()
    if not changed.enabled():
        db.session.rollback()
        raise SettingRefused(f"{name} is the last enabled model; enable another one first.")
    after = _snapshot(changed.models[name], changed)
    audit.record(actor, action, target=f"model {name}"[:254], before=before, after=after)
    db.session.commit()
    return changed.models[name]


def edit(actor: User, name: str, values: Edit) -> ModelEntry:
    """Change a model's display name, default size and price factor."""
    if not 0 < values.price <= MAX_PRICE:
        raise SettingRefused(f"The price factor must be above 0 and at most {MAX_PRICE:g}.")
    if values.width <= 0 or values.height <= 0:
        raise SettingRefused("The default width and height must be positive.")

    def apply(row: ModelSetting) -> None:
        row.title = values.title.strip() or None
        row.width, row.height, row.price = values.width, values.height, values.price

    return _change(actor, name, "model.edit", apply)


def set_enabled(actor: User, name: str, enabled: bool) -> ModelEntry:
    """Enable or disable a model; the default and the last enabled model stay enabled."""

    def guard(library: Library) -> None:
        if enabled or library.default != name:
            return
        if len(library.enabled()) <= 1:
            raise SettingRefused(f"{name} is the last enabled model; enable another one "
                                 "first.")
        raise SettingRefused(f"{name} is the default model; make another model the "
                             "default first.")

    def apply(row: ModelSetting) -> None:
        row.enabled = enabled

    return _change(actor, name, "model.enable" if enabled else "model.disable", apply, guard)


def set_default(actor: User, name: str) -> ModelEntry:
    """Make an enabled model the default for requests that name none."""

    def guard(library: Library) -> None:
        if not library.models[name].enabled:
            raise SettingRefused(f"{name} is disabled; enable it before making it the "
                                 "default.")

    def apply(row: ModelSetting) -> None:
        db.session.execute(update(ModelSetting).values(is_default=False))
        row.is_default = True

    return _change(actor, name, "model.default", apply, guard)


def user_default(user: User, library: Library | None = None) -> ModelEntry:
    """The model a user's requests use when they name none: theirs if still enabled."""
    library = library or current()
    own = library.models.get(user.default_model or "")
    if own is not None and own.enabled:
        return own
    return library.models[library.default]


def set_user_default(user: User, entry: ModelEntry) -> None:
    """Remember ``entry`` as the user's own default model (A1111's POST /options)."""
    user.default_model = entry.name
    db.session.commit()


def resolve(user: User, wanted: str | None, served: str) -> ModelEntry:
    """The model a request of ``user`` runs on: the one named (by name, title, file or hash),
    else the user's own default; ModelRefused (naming it) when it cannot be used."""
    try:
        library = current()
    except LibraryError as error:  # a misconfigured models folder: say so, never a 500
        raise ModelRefused(f"The model library cannot be read: {error}") from error
    if wanted is None or not str(wanted).strip():
        return user_default(user, library)  # enabled by construction: nothing to refuse
    return choose_model(library, str(wanted), served)


def fit_size(width: int, height: int, limits: Limits) -> tuple[int, int]:
    """A model's default size brought within the deployment's limits, keeping its shape:
    multiples of 8, each side within bounds, at most ``max_pixels``."""
    scale = min(1.0, (limits.max_pixels / (width * height)) ** 0.5,
                limits.max_side / max(width, height))

    def side(value: float) -> int:
        return max(limits.min_side, min(limits.max_side, int(value * scale) // 8 * 8))

    return side(width), side(height)


def choices(user: User, limits: Limits) -> tuple[list[dict[str, Any]], str]:
    """The studio's model picker: every enabled model (default first) with its display name,
    family, price factor and default size within the limits; and the user's default."""
    library = current()
    options = []
    for entry in library.enabled():
        width, height = fit_size(entry.width, entry.height, limits)
        options.append({"name": entry.name, "title": entry.title, "family": entry.family,
                        "price": entry.price, "width": width, "height": height})
    return options, user_default(user, library).name


def title_of(name: str | None, library: Library | None = None) -> str:
    """A model's display name for pages (its name when unknown or removed)."""
    if not name:
        return "—"
    entry = (library or current()).models.get(name)
    return entry.title if entry is not None and entry.title else name
