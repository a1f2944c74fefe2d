"""Admin views for accounts: the users list, a user's page and the actions on it."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from daydream.account.credits import csv_response
from daydream.admin import bp
from daydream.admin.forms import AllowanceForm, ConfirmForm, CreditsForm
from daydream.admin.routes import user_or_404
from daydream.extensions import db
from daydream.models import User
from daydream.services import admin as admin_service
from daydream.services import allowance, apikeys, audit, ledger, logins
from daydream.services.credits import BalanceCapExceeded, InsufficientCredits


def _back(user_id: int):
    return redirect(url_for("admin.user", user_id=user_id)), 303


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _act(person: User, action: Callable[[], object], done: Callable[[], str],
         refused: tuple[type[Exception], ...] = (admin_service.AdminError,)):
    """Run one staff action on ``person``: flash why it was refused, or ``done()``."""
    try:
        action()
    except refused as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(done(), "success")
    return _back(person.id)


def _form_refused(form, person: User):
    flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
    return _back(person.id)


@bp.get("/users")
def users():
    """Users with their credits and state: search, sort and pages."""
    query = request.args.get("q", "").strip()[:100]
    sort = request.args.get("sort", "newest")
    sort = sort if sort in admin_service.SORTS else "newest"
    listing = admin_service.list_users(query, request.args.get("page", 1, type=int) or 1, sort)
    return render_template("admin/users.html", section="users", listing=listing, query=query,
                           sort=sort, sorts=admin_service.SORTS)


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """One account: profile, tasks, ledger, sessions, API keys and the staff actions."""
    person = user_or_404(user_id)
    return render_template(
        "admin/user.html", section="users", person=person,
        tasks=admin_service.recent_tasks(person, limit=20),
        ledger=ledger.page(person.id, request.args.get("page", 1, type=int) or 1),
        api_keys=apikeys.list_keys(person), allowance_cap=allowance.cap_for(person),
        sessions=logins.active(person),
        history=audit.entries(target_user_id=person.id, page_size=20).entries,
        credits_form=CreditsForm(), allowance_form=AllowanceForm(
            allowance=person.daily_allowance), confirm_form=ConfirmForm())


@bp.get("/users/<int:user_id>/ledger.csv")
def user_ledger_csv(user_id: int):
    """Download a user's whole ledger as CSV."""
    person = user_or_404(user_id)
    return csv_response(person.id, f"daydream-ledger-{person.uuid}.csv")


@bp.post("/users/<int:user_id>/credits")
def credits(user_id: int):
    """Grant or remove credits."""
    person = user_or_404(user_id)
    form = CreditsForm()
    if not form.validate_on_submit():
        return _form_refused(form, person)
    return _act(person, lambda: admin_service.adjust_credits(person, form.amount.data,
                                                             current_user, form.note.data),
                lambda: f"{person.email} now has {person.credits} credits.",
                (InsufficientCredits, BalanceCapExceeded, admin_service.AdminError))


@bp.post("/users/<int:user_id>/allowance")
def set_allowance(user_id: int):
    """Set (or clear, for the role's) a user's daily allowance cap."""
    person = user_or_404(user_id)
    form = AllowanceForm()
    if not form.validate_on_submit():
        return _form_refused(form, person)
    admin_service.set_allowance(person, current_user, form.allowance.data)
    flash("Daily allowance saved.", "success")
    return _back(person.id)


@bp.post("/users/<int:user_id>/toggle")
def toggle(user_id: int):
    """Disable or re-enable an account."""
    person = user_or_404(user_id)
    _confirmed()
    return _act(person, lambda: admin_service.toggle_active(person, current_user),
                lambda: f"{person.email} is now {'active' if person.active else 'disabled'}.")


@bp.post("/users/<int:user_id>/end-sessions")
def end_sessions(user_id: int):
    """Log a user out of every browser (their stolen or forgotten logins end)."""
    person = user_or_404(user_id)
    _confirmed()
    ended = admin_service.end_sessions(person, current_user)
    flash(f"Ended {ended} session{'' if ended == 1 else 's'} of {person.email}.", "success")
    return _back(person.id)


@bp.post("/users/<int:user_id>/staff")
def staff(user_id: int):
    """Make a user staff, or take the role away (``make=0``)."""
    person = user_or_404(user_id)
    _confirmed()
    make = request.form.get("make", "1") == "1"
    return _act(person, lambda: admin_service.set_staff(person, current_user, make),
                lambda: f"{person.email} is {'now staff' if make else 'no longer staff'}.")


@bp.post("/users/<int:user_id>/delete")
def delete(user_id: int):
    """Delete an account with its tasks and images."""
    person = user_or_404(user_id)
    _confirmed()
    email = person.email
    try:
        admin_service.delete_user(person, current_user)
    except admin_service.AdminError as error:
        flash(str(error), "error")
        return _back(person.id)
    flash(f"Deleted {email}.", "success")
    return redirect(url_for("admin.users")), 303
