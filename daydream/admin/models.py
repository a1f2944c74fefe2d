"""Staff page for the model library: enable, disable, default, display name, size, price."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from daydream.admin import bp
from daydream.admin.forms import ModelActionForm, ModelForm
from daydream.services import model_settings, tasks
from daydream.services.models import LibraryError

PREFIX = re.compile(r"m\d{1,4}")


def _page(status: int = 200, failed: ModelForm | None = None):
    """The library with an edit form per model (``failed`` keeps a refused form's input)."""
    try:
        library = model_settings.current()
    except LibraryError as error:
        return render_template("admin/models.html", section="models", error=str(error),
                               library=None, forms={}, action_form=ModelActionForm()), 500
    forms = {}
    for index, entry in enumerate(sorted(library.models.values(), key=lambda e: e.name)):
        if failed is not None and failed.name.data == entry.name:
            forms[entry.name] = failed
            continue
        # A prefix per model keeps every input's id unique on the page.
        forms[entry.name] = ModelForm(formdata=None, prefix=f"m{index}", name=entry.name,
                                      title=entry.title, width=entry.width,
                                      height=entry.height, price=entry.price)
    return render_template("admin/models.html", section="models", library=library,
                           forms=forms, action_form=ModelActionForm(), error=None,
                           limits=tasks.limits()), status


def _size_errors(form: ModelForm) -> bool:
    """Add errors for a default size the studio could not run; True if there were any."""
    limits = tasks.limits()
    for field in (form.width, form.height):
        value = field.data
        if value < limits.min_side or value > limits.max_side or value % 8:
            field.errors.append(f"A multiple of 8 between {limits.min_side} and "
                                f"{limits.max_side}.")
    if not form.width.errors and not form.height.errors and \
            form.width.data * form.height.data > limits.max_pixels:
        form.height.errors.append(f"Width × height is at most {limits.max_pixels} pixels here.")
    return bool(form.width.errors or form.height.errors)


@bp.get("/models")
def models():
    """Every model of the library with its settings; files skipped with the reason."""
    return _page()


@bp.post("/models/edit")
def model_edit():
    """Change one model's display name, default size and price factor."""
    prefix = request.form.get("prefix", "")
    form = ModelForm(prefix=prefix if PREFIX.fullmatch(prefix) else "")
    if not form.validate_on_submit() or _size_errors(form):
        return _page(400, failed=form)
    values = model_settings.Edit(form.title.data or "", form.width.data, form.height.data,
                                 float(form.price.data))
    try:
        entry = model_settings.edit(current_user, form.name.data, values)
    except model_settings.SettingRefused as error:
        flash(str(error), "error")
        return _page(409)
    flash(f"{entry.name}: saved. New tasks use these settings now.", "success")
    return redirect(url_for("admin.models")), 303


@bp.post("/models/action")
def model_action():
    """Enable or disable a model, or make it the default (``do``)."""
    form = ModelActionForm()
    if not form.validate_on_submit():
        abort(400)
    name, action = form.name.data, form.do.data
    try:
        if action == "default":
            model_settings.set_default(current_user, name)
        else:
            model_settings.set_enabled(current_user, name, action == "enable")
    except model_settings.SettingRefused as error:
        flash(str(error), "error")
        return _page(409)
    done = {"enable": "is enabled", "disable": "is disabled",
            "default": "is the default model"}[action]
    flash(f"{name} {done}.", "success")
    return redirect(url_for("admin.models")), 303
