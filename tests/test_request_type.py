"""One request type: every surface derives from ``generation.request`` (a drift test), and
the one price the page shows is the price charged (a tie test)."""

from __future__ import annotations

import dataclasses
import io
from html.parser import HTMLParser

import pytest
from PIL import Image
from sqlalchemy import Boolean, Float, Integer, String, Text, select

from daydream.api.schemas import task_request
from daydream.engine.metadata import format_parameters, parse_parameters
from daydream.engine.params import GenerationParams, Limits
from daydream.extensions import db
from daydream.generation.request import BY_NAME, PARAMS, Mode
from daydream.generation.validate import validate
from daydream.models import Task, User
from daydream.sdapi.mapping import read_request
from daydream.sdapi.models import IMG2IMG_DEFAULTS, TXT2IMG_DEFAULTS
from daydream.services.credits import ledger_total
from tests.api import a1111

# A value other than the default for every parameter, valid together in its mode.
SAMPLE = {
    "prompt": "a heron", "negative_prompt": "fog", "steps": 9, "cfg_scale": 6.5,
    "width": 128, "height": 96, "samples": 2, "n_iter": 2, "seed": 1234,
    "scheduler": "DDIM", "strength": 0.55, "mask_blur": 6, "inpainting_fill": "latent noise",
    "inpaint_full_res": True, "inpaint_full_res_padding": 16, "enable_hr": True,
    "hr_scale": 1.5, "hr_upscaler": "Lanczos", "hr_second_pass_steps": 5,
    "hr_resize_x": 256, "hr_resize_y": 192,
}
COLUMN_TYPES = {"text": (Text, String), "int": (Integer,), "float": (Float,),
                "bool": (Boolean,), "choice": (String,), "seed": (Integer,)}


def sample_for(mode: Mode) -> dict:
    """SAMPLE with only what applies to ``mode`` (the rest as validation fills it)."""
    values = {name: value for name, value in SAMPLE.items()
              if BY_NAME[name].applies_to(mode, SAMPLE) or name == "enable_hr"}
    if mode is not Mode.TXT2IMG:
        values.pop("enable_hr")
    return values


def test_every_parameter_has_a_sample_differing_from_its_default():
    assert set(SAMPLE) == set(BY_NAME)
    assert all(SAMPLE[p.name] != p.default for p in PARAMS)


def test_the_task_row_has_a_column_of_the_right_type_for_every_parameter():
    columns = Task.__table__.columns
    for spec in PARAMS:
        assert spec.column_name in columns, f"task has no column for {spec.name}"
        column_type = columns[spec.column_name].type
        assert isinstance(column_type, COLUMN_TYPES[spec.kind]), spec.name
        if spec.kind == "choice" and column_type.length:
            assert max(map(len, spec.choices)) <= column_type.length, spec.name


def test_the_engine_takes_exactly_the_request_parameters():
    assert {f.name for f in dataclasses.fields(GenerationParams)} == set(BY_NAME)
    for spec in PARAMS:
        field = GenerationParams.__dataclass_fields__[spec.name]
        if spec.name != "prompt":
            assert field.default == spec.default, f"engine default of {spec.name} drifted"


def test_the_native_api_schema_follows_every_definition():
    limits = Limits()
    schema = task_request(limits)["properties"]
    for spec in PARAMS:
        prop = schema[spec.name]
        assert prop["default"] == spec.default and spec.help in prop["description"]
        if spec.kind in ("int", "float"):
            low = "exclusiveMinimum" if spec.exclusive_minimum else "minimum"
            assert prop[low] == spec.bound("minimum", limits), spec.name
            assert prop["maximum"] == spec.bound("maximum", limits), spec.name
        if spec.choices:
            assert prop["enum"] == list(spec.choices)


class _Fields(HTMLParser):
    """Collects the studio form's inputs, selects (with options) and labels."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, dict] = {}
        self.options: dict[str, list[str]] = {}
        self.text: list[str] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.fields[attrs["name"]] = {"tag": tag, **attrs}
        if tag == "select":
            self._select = attrs.get("name")
            self.options[self._select] = []
        if tag == "option" and self._select:
            self.options[self._select].append(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None

    def handle_data(self, data):
        self.text.append(data.strip())


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def test_the_studio_form_is_drawn_from_the_definitions(app, client, logged_in):
    page = _Fields()
    page.feed(client.get("/studio/").get_data(as_text=True))
    with app.app_context():
        from daydream.services.tasks import limits

        limits = limits()
    for spec in PARAMS:
        if not spec.in_studio:
            assert spec.name not in page.fields
            continue
        field = page.fields[spec.name]
        assert spec.label in page.text, spec.name
        if spec.kind in ("int", "float"):
            assert field["type"] == "range", spec.name
            assert float(field["max"]) == spec.bound("maximum", limits), spec.name
            assert float(field["step"]) == spec.step, spec.name
            if not spec.exclusive_minimum:
                assert float(field["min"]) == spec.bound("minimum", limits), spec.name
        elif spec.kind == "choice":
            assert page.options[spec.name] == list(spec.choices)
        elif spec.kind == "bool":
            assert field["type"] == "checkbox"
        elif spec.kind == "text":
            assert int(field["maxlength"]) == spec.bound("maximum", limits)


@pytest.mark.parametrize("mode", list(Mode))
def test_a1111_requests_reach_every_parameter_under_a1111s_names(mode):
    values = sample_for(mode)
    fields = TXT2IMG_DEFAULTS if mode is Mode.TXT2IMG else IMG2IMG_DEFAULTS
    body = {}
    for name, value in values.items():
        spec = BY_NAME[name]
        if name == "scheduler":
            body["sampler_name"] = value
            continue
        assert spec.a1111_name in fields, f"{spec.a1111_name} is not an A1111 field"
        body[spec.a1111_name] = value
    if mode is not Mode.TXT2IMG:
        body["init_images"] = ["x"]
    if mode is Mode.INPAINT:
        body["mask"] = "x"
    make = a1111.txt2img if mode is Mode.TXT2IMG else a1111.img2img
    wanted = read_request(make(**body), mode is not Mode.TXT2IMG, max_samples=4)
    checked = validate(wanted.data, Limits(max_pixels=256 * 192), mode)
    for name, value in values.items():
        assert checked[name] == value, name


@pytest.mark.parametrize("mode", list(Mode))
def test_the_infotext_writes_and_reads_every_parameter_it_names(mode):
    params = GenerationParams(**{**SAMPLE, "enable_hr": mode is Mode.TXT2IMG})
    text = format_parameters(params, 1234, "demo", img2img=mode is not Mode.TXT2IMG,
                             mask=mode is Mode.INPAINT)
    parsed = parse_parameters(text)
    for spec in PARAMS:
        # As A1111: with hr_resize_x/y set (as in SAMPLE) "Hires resize" replaces the scale.
        if spec.infotext and spec.applies_to(mode, {"enable_hr": True}) and \
                spec.name != "hr_scale":
            assert f"{spec.infotext}: " in text, spec.name
            assert parsed[spec.name] == SAMPLE[spec.name], spec.name
    if mode is Mode.TXT2IMG:
        assert (parsed["hr_resize_x"], parsed["hr_resize_y"]) == (256, 192)
        scaled = format_parameters(dataclasses.replace(params, hr_resize_x=0, hr_resize_y=0),
                                   1234, "demo")
        assert parse_parameters(scaled)["hr_scale"] == SAMPLE["hr_scale"]


def test_the_worker_calls_the_engine_with_what_the_row_holds(app, make_task, user):
    from daydream.generation.request import row_values
    from daydream.runner import params_of

    task = make_task(user, **row_values(SAMPLE))
    assert params_of(task).to_dict() == SAMPLE


def test_the_task_view_shows_every_parameter(app, make_task, user):
    from daydream.generation.request import row_values
    from daydream.services.statuses import task_status

    task = make_task(user, **row_values(SAMPLE))
    with app.app_context():
        view = task_status(db.session.get(Task, task.id))
    assert {name: view[name] for name in SAMPLE} == SAMPLE


# ---- one price: what the page shows is what is charged ---------------------------------

def _png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def _mask() -> io.BytesIO:
    buffer = io.BytesIO()
    image = Image.new("L", (64, 64), 0)
    image.paste(255, (16, 16, 48, 48))
    image.save(buffer, "PNG")
    buffer.seek(0)
    return buffer


SETTINGS = [
    ("txt2img", {"width": "64", "height": "64", "steps": "2"}),
    ("txt2img", {"width": "512", "height": "512", "steps": "30", "samples": "4"}),
    ("txt2img", {"width": "256", "height": "128", "steps": "7", "samples": "3",
                 "cfg_scale": "12"}),
    ("txt2img", {"width": "128", "height": "128", "steps": "10", "enable_hr": "1",
                 "hr_scale": "2", "hr_second_pass_steps": "6", "strength": "0.5"}),
    ("txt2img", {"width": "192", "height": "128", "steps": "8", "enable_hr": "1",
                 "hr_resize_x": "384", "hr_resize_y": "256", "strength": "0.7"}),
    ("img2img", {"width": "256", "height": "256", "steps": "20", "strength": "0.35"}),
    ("inpaint", {"width": "128", "height": "128", "steps": "16", "strength": "0.8",
                 "mask_blur": "0", "inpaint_full_res": "1"}),
]


def api_key(app, user) -> str:
    from daydream.services import apikeys

    with app.app_context():
        return apikeys.create_key(db.session.get(User, user.id), "test")[1]


def balance(app, user) -> int:
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert ledger_total(user.id) == fresh.credits
        return fresh.credits


@pytest.mark.parametrize(("mode", "settings"), SETTINGS)
def test_the_price_the_page_shows_is_the_price_charged(app, client, logged_in, mode, settings):
    form = {"prompt": "a heron", "scheduler": "Euler", "random_seed": "1", **settings}
    shown = client.post("/studio/quote", data={**form, "mode": mode})
    assert shown.status_code == 200, shown.json
    before = balance(app, logged_in)
    files = {}
    if mode != "txt2img":
        files["init_image"] = (_png(), "init.png")
    if mode == "inpaint":
        files["mask"] = (_mask(), "mask.png")
    submitted = client.post("/studio/tasks", data={**form, **files},
                            content_type="multipart/form-data")
    assert submitted.status_code == 202, submitted.json
    task = submitted.json["task"]
    assert task["mode"] == mode
    assert before - balance(app, logged_in) == shown.json["cost"] == task["cost"]
    # The API's dry run quotes the same number for the same request.
    from tests.api.conftest import bearer

    body = {k: v for k, v in form.items() if k != "random_seed"}
    for key in ("enable_hr", "inpaint_full_res"):
        if key in body:
            body[key] = True
    for key, value in list(body.items()):
        if key not in ("prompt", "scheduler", "enable_hr", "inpaint_full_res"):
            body[key] = float(value) if "." in value else int(value)
    if mode != "txt2img":
        import base64

        body["init_image"] = base64.b64encode(_png().getvalue()).decode()
    if mode == "inpaint":
        import base64

        body["mask"] = base64.b64encode(_mask().getvalue()).decode()
    dry = client.post("/api/v1/tasks", json={**body, "dry_run": True},
                      headers=bearer(api_key(app, logged_in)))
    assert dry.status_code == 200, dry.json
    assert dry.json["cost"] == shown.json["cost"] and dry.json["mode"] == mode


def test_hires_is_priced_for_both_passes(app, client, logged_in):
    base = {"prompt": "a heron", "width": "128", "height": "128", "steps": "10",
            "strength": "0.5"}
    plain = client.post("/studio/quote", data=base).json["cost"]
    hires = client.post("/studio/quote", data={**base, "enable_hr": "1", "hr_scale": "2",
                                               "hr_second_pass_steps": "10"}).json["cost"]
    cps = app.config["CREDIT_PIXEL_STEPS"]
    assert plain == max(1, -(-128 * 128 * 10 // cps))
    assert hires == -(-(128 * 128 * 10 + 256 * 256 * 5) // cps)


def test_the_quote_says_when_credits_are_short(app, client, make_user, auth):
    poor = make_user("poor@example.com", credits=3)
    auth.login(poor.email)
    answer = client.post("/studio/quote", data={"width": "512", "height": "512",
                                                "steps": "50"}).json
    assert answer["credits"] == 3 and answer["cost"] > 3 and answer["affordable"] is False
    page = client.get("/studio/").get_data(as_text=True)
    assert "studio-form.js" in page
    with app.app_context():
        assert db.session.scalar(select(Task)) is None
