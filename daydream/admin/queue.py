"""Admin views for the live queue and the workers."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from daydream.admin import bp
from daydream.admin.forms import ConfirmForm
from daydream.services import access, audit, dashboard
from daydream.services import admin as admin_service


@bp.get("/queue")
def queue():
    """Running and waiting tasks in the order they will run, and the workers."""
    return render_template("admin/queue.html", section="queue",
                           queue=admin_service.queue_overview(),
                           workers=dashboard.workers(), confirm_form=ConfirmForm())


@bp.post("/tasks/<task_uuid>/cancel")
def cancel_task(task_uuid: str):
    """Cancel anyone's queued or running task (refunded like the owner's own cancel)."""
    from daydream.extensions import db
    from daydream.services import tasks

    if not ConfirmForm().validate_on_submit():
        abort(400)
    task = access.find_task(current_user, task_uuid)
    if task is None:
        abort(404, "No such task.")
    try:
        before = task.state
        tasks.cancel(task)
    except tasks.NotCancellable as error:
        flash(str(error), "error")
    else:
        audit.record(current_user, "task.cancel", target_user=task.user,
                     before={"task": task.uuid, "state": before})
        db.session.commit()
        flash(f"Task {task.uuid} of {task.user.email} is being cancelled.", "success")
    return redirect(url_for("admin.queue")), 303
