"""Studio views: the page, submit, cancel, status, timeline cards, ZIP downloads."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_login import current_user, login_required

from daydream.engine.errors import ParamError
from daydream.engine.params import SCHEDULERS
from daydream.errors import api_error
from daydream.services import archives, estimates, gallery, tasks
from daydream.services.uploads import UploadError
from daydream.studio import bp
from daydream.studio.forms import generation_fields, init_image, task_or_404


@bp.before_request
@login_required
def require_login():
    """The studio is for logged-in users."""


@bp.get("/")
def index():
    """The studio page: control panel, progress area and this session's timeline."""
    cfg = current_app.config
    rate, overhead = estimates.learned_rate()
    session_tasks = tasks.session_tasks(current_user)
    where = tasks.positions()
    return render_template(
        "studio/index.html", tasks=session_tasks, schedulers=SCHEDULERS, where=where,
        pricing={"credit_pixel_steps": cfg["CREDIT_PIXEL_STEPS"], "rate": rate,
                 "overhead": overhead, "queue_seconds": round(tasks.queue_wait_seconds(), 1)},
        limits=tasks.limits(),
    )


@bp.post("/tasks")
def submit():
    """Submit a task from the control panel; answers JSON (the page uses fetch)."""
    try:
        init = init_image(request)
        task = tasks.submit(current_user, generation_fields(request), init=init, source="web")
    except ParamError as error:
        return api_error(400, "invalid_parameters", "Some settings need fixing: "
                         + "; ".join(error.errors.values()), error.errors)
    except UploadError as error:
        return api_error(400, "invalid_image", str(error), {"init_image": str(error)})
    except tasks.SubmissionRefused as error:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return api_error(error.status, error.code, str(error), headers=headers)
    where = tasks.positions()
    return jsonify(task=tasks.task_status(task, where), credits=current_user.tokens,
                   card=render_template("studio/_task.html", task=task, where=where)), 202


@bp.get("/tasks/<task_uuid>")
def status(task_uuid: str):
    """The current state of one task (what a page fetches after reconnecting)."""
    return jsonify(tasks.task_status(task_or_404(task_uuid)))


@bp.get("/tasks/<task_uuid>/card")
def card(task_uuid: str):
    """One timeline card as HTML, to swap in when a task changes."""
    return render_template("studio/_task.html", task=task_or_404(task_uuid),
                           where=tasks.positions())


@bp.post("/tasks/<task_uuid>/cancel")
def cancel(task_uuid: str):
    """Cancel a queued task or stop a running one."""
    task = task_or_404(task_uuid)
    try:
        tasks.cancel(task)
    except tasks.NotCancellable as error:
        return api_error(409, "not_cancellable", str(error))
    return jsonify(tasks.task_status(task))


@bp.get("/state")
def state():
    """Every task of this session with its state, for a page that (re)connects."""
    where = tasks.positions()
    return jsonify(tasks=[tasks.task_status(t, where) for t in tasks.session_tasks(current_user)],
                   credits=current_user.tokens)


@bp.get("/tasks/<task_uuid>.zip")
def download_zip(task_uuid: str):
    """A ZIP of the task's PNGs (metadata intact), streamed."""
    response = archives.zip_response(task_or_404(task_uuid))
    if response is None:
        return api_error(404, "no_images", "This task has no images to download.")
    return response


@bp.post("/images/<image_uuid>/share")
def share(image_uuid: str):
    """Share one of your images to the public gallery (``shared=0`` takes it back)."""
    image = gallery.find_image(image_uuid)
    if image is None or image.task.user_id != current_user.id:
        return api_error(404, "not_found", "No such image.")
    shared = request.form.get("shared", "1") not in ("0", "false", "")
    gallery.set_shared(image, shared)
    return jsonify(tasks.image_view(image))
