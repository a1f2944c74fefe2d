"""Studio views: the page, submit, cancel, status, timeline cards, ZIP downloads."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from daydream.engine.errors import ParamError
from daydream.engine.prompt import list_loras
from daydream.errors import api_error
from daydream.generation.request import BY_NAME, Mode, defaults
from daydream.services import (
    access,
    archives,
    gallery,
    library,
    model_settings,
    statuses,
    storage,
    tasks,
    users,
)
from daydream.services.uploads import UploadError
from daydream.studio import bp
from daydream.studio.forms import (
    chosen_model,
    generation_fields,
    init_image,
    mask_image,
    task_or_404,
)


@bp.app_template_global()
def settings_of(task) -> dict:
    """A task's settings for its card's "reuse" (every request parameter, its mode)."""
    return statuses.settings_of(task)


@bp.app_template_global()
def model_title(name: str | None) -> str:
    """A model's display name on cards and pages (the library is read once a request)."""
    return model_settings.title_of(name)


@bp.before_request
@login_required
def require_login():
    """The studio is for logged-in users."""


# Cards on the page at first and per "Show earlier": a long session stays quick to open.
TIMELINE_PAGE = 30


def timeline_page(before: int | None = None) -> tuple[list, int | None]:
    """One page of this session's cards, newest first, and the cursor of the next."""
    found = tasks.session_tasks(current_user, limit=TIMELINE_PAGE + 1, before=before)
    page = found[:TIMELINE_PAGE]
    return page, (page[-1].id if len(found) > TIMELINE_PAGE else None)


@bp.get("/")
def index():
    """The studio page: control panel, progress area and this session's timeline."""
    session_tasks, earlier = timeline_page()
    where = statuses.positions()
    models, my_model = model_settings.choices(current_user, tasks.limits())
    return render_template(
        "studio/index.html", tasks=session_tasks, earlier=earlier, where=where, params=BY_NAME,
        limits=tasks.limits(), defaults=defaults(), models=models, my_model=my_model,
        loras=[path.stem for path in list_loras(current_app.config.get("LORA_DIR"))],
        handoff=library.handoff(current_user, request.args.get("reuse"),
                                request.args.get("variant")),
    )


@bp.post("/quote")
def quote():
    """The server's price and time for the form's settings (the page shows this number)."""
    mode = Mode(request.form.get("mode", Mode.TXT2IMG.value))
    data = generation_fields(request)
    data["prompt"] = data.get("prompt") or "-"  # priced before a prompt is written
    try:
        priced = tasks.quote(data, mode, chosen_model(request))
    except ParamError as error:
        return api_error(400, "invalid_parameters", "Some settings need fixing: "
                         + "; ".join(error.errors.values()), error.errors)
    model = priced.model
    return jsonify(mode=mode.value, cost=priced.cost, credits=current_user.credits,
                   model={"name": model.name, "title": model.title, "price_factor": model.price},
                   affordable=current_user.credits >= priced.cost,
                   run_seconds=round(priced.seconds, 1),
                   queue_seconds=round(priced.queue_seconds, 1))


@bp.post("/tasks")
def submit():
    """Submit a task from the control panel; answers JSON (the page uses fetch)."""
    try:
        init, mask = init_image(request), mask_image(request)
        task = tasks.submit(current_user, generation_fields(request), init=init, source="web",
                            mask=mask, model=chosen_model(request))
    except ParamError as error:
        return api_error(400, "invalid_parameters", "Some settings need fixing: "
                         + "; ".join(error.errors.values()), error.errors)
    except UploadError as error:
        return api_error(400, "invalid_image", str(error), {"init_image": str(error)})
    except tasks.SubmissionRefused as error:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return api_error(error.status, error.code, str(error), headers=headers)
    where = statuses.positions_while_queued(tasks.latest(task))
    return jsonify(task=statuses.task_status(task, where), credits=current_user.credits,
                   card=render_template("studio/_task.html", task=task, where=where)), 202


@bp.get("/tasks/<task_uuid>")
def status(task_uuid: str):
    """The current state of one task (what a page fetches after reconnecting)."""
    return jsonify(statuses.task_status(task_or_404(task_uuid)))


@bp.get("/tasks/<task_uuid>/card")
def card(task_uuid: str):
    """One timeline card as HTML, to swap in when a task changes."""
    return render_template("studio/_task.html", task=task_or_404(task_uuid),
                           where=statuses.positions())


@bp.post("/tasks/<task_uuid>/cancel")
def cancel(task_uuid: str):
    """Cancel a queued task or stop a running one."""
    task = task_or_404(task_uuid)
    try:
        tasks.cancel(task)
    except tasks.NotCancellable as error:
        return api_error(409, "not_cancellable", str(error))
    return jsonify(statuses.task_status(task))


@bp.get("/tasks/<task_uuid>/<any(init, mask):kind>.png")
def task_file(task_uuid: str, kind: str):
    """A task's starting image or inpainting mask (for its card, and to reuse them)."""
    task = task_or_404(task_uuid)
    relative = task.init_image if kind == "init" else task.mask
    if not relative or not storage.absolute(relative).is_file():
        abort(404, "This task has no such image.")
    return send_file(storage.absolute(relative), mimetype="image/png", max_age=3600)


@bp.post("/session")
def new_session():
    """Start a new studio session: an empty timeline; earlier work stays in your account."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    users.new_studio_session(current_user)
    flash("A new studio session has started. Your earlier images are still yours.", "success")
    return redirect(url_for("studio.index")), 303


@bp.get("/cards")
def earlier_cards():
    """The next page of timeline cards, older than ``before``, as HTML and the next cursor."""
    try:
        before = library.parse_cursor(request.args.get("before"))
    except library.LibraryQueryError as error:
        return api_error(400, "invalid_parameters", error.errors["before"], error.errors)
    page, earlier = timeline_page(before)
    return jsonify(cards=render_template("studio/_cards.html", tasks=page,
                                         where=statuses.positions()), before=earlier)


@bp.get("/state")
def state():
    """The newest page of this session's tasks with their states, for a page that
    (re)connects (older cards are finished and do not change)."""
    where = statuses.positions()
    return jsonify(tasks=[statuses.task_status(t, where) for t in timeline_page()[0]],
                   credits=current_user.credits)


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
    image = access.find_image(current_user, image_uuid)
    if image is None or not access.can_share(current_user, image):
        return api_error(404, "not_found", "No such image.")
    shared = request.form.get("shared", "1") not in ("0", "false", "")
    gallery.set_shared(image, shared)
    return jsonify(statuses.image_view(image))
