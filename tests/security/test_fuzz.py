"""Fuzz every form and both APIs with hostile input: 0 server errors, SQLite and PostgreSQL.

Hypothesis picks a form (or API call) and fills each field with text, numbers and the
classics (NUL, lone surrogates, 401-digit numbers, overlong strings, markup); every
example sends four requests: a known form, any route of the app (its URL arguments and
fields, named after every form field in Daydream, generated; so new routes are fuzzed
too), the native API and the A1111 API. The run is
derandomized, so a failure reappears on the next run.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import AnyConverter, IntegerConverter

from daydream.extensions import db
from daydream.models import User
from daydream.services import apikeys
from tests.conftest import PASSWORD

EXAMPLES = 300  # × 4 requests = 1,200 per database
NASTY = ["", " ", "\x00", "a\x00b", "a\ud800b", "\udfff", "9" * 401, "-" + "9" * 401, "1e400",
         "NaN", "-1", "0", "2147483648", "x" * 5000, "<script>alert(1)</script>",
         "' OR 1=1 --", "../../etc/passwd", "%00", "\u202egnp.exe", "😀" * 50, "a@b",
         "user@example.com", PASSWORD, "Euler a", "64", "0.5"]
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                 st.integers().map(str), st.floats().map(str))
JSON_SCALAR = (st.none() | st.booleans() | st.integers(min_value=-10 ** 500, max_value=10 ** 500)
               | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
JSON = st.recursive(JSON_SCALAR, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)

GENERATION = ("prompt", "negative_prompt", "width", "height", "steps", "cfg_scale", "samples",
              "seed", "scheduler", "strength")
FORMS = [
    ("anonymous", "/auth/login", ("email", "password", "remember")),
    ("anonymous", "/auth/register", ("email", "username", "password", "confirm")),
    ("user", "/account/profile", ("username", "first_name", "last_name", "mobile",
                                  "cancel_abandoned")),
    ("user", "/account/email", ("email", "password")),
    ("user", "/account/password", ("current_password", "new_password", "confirm")),
    ("user", "/account/keys", ("key-name", "name")),
    ("user", "/studio/tasks", (*GENERATION, "random_seed", "init_from")),
    ("staff", "/admin/users/{user_id}/credits", ("amount", "note")),
    ("staff", "/admin/", ("q", "page")),
    ("anonymous", "/gallery", ("page",)),
    ("user", "/studio/tasks/{text}", ()),
    ("anonymous", "/media/{text}.png", ()),
    ("user", "/account/", ("tab",)),
]
API_FIELDS = (*GENERATION, "init_image", "tasks", "state", "page", "per_page")
A1111_FIELDS = ("prompt", "negative_prompt", "width", "height", "steps", "cfg_scale", "seed",
                "sampler_name", "scheduler", "batch_size", "n_iter", "denoising_strength",
                "init_images", "image", "send_images", "override_settings", "script_name")
API_CALLS = [("POST", "/api/v1/tasks"), ("GET", "/api/v1/tasks"),
             ("GET", "/api/v1/tasks/{text}"), ("POST", "/api/v1/tasks/{text}/cancel"),
             ("GET", "/api/v1/images/{text}.png")]
A1111_CALLS = ["txt2img", "img2img", "png-info", "options", "interrupt", "skip"]


def _fill(draw, fields) -> dict:
    chosen = draw(st.lists(st.sampled_from(fields), unique=True)) if fields else []
    return {name: draw(TEXT) for name in chosen}


@st.composite
def form_requests(draw):
    """(role, method, url, form data) for one form or page."""
    role, url, fields = draw(st.sampled_from(FORMS))
    url = url.replace("{text}", _quote(draw(TEXT)))
    method = "GET" if url.startswith(("/admin/", "/gallery", "/studio/tasks/", "/media/",
                                      "/account/")) and not url.endswith(
        ("/credits", "/profile", "/email", "/password", "/keys")) else "POST"
    return role, method, url, _fill(draw, fields)


@st.composite
def api_requests(draw):
    """(method, url, query or JSON body) for the native API."""
    method, url = draw(st.sampled_from(API_CALLS))
    url = url.replace("{text}", _quote(draw(TEXT)))
    data = {name: draw(JSON) for name in draw(st.lists(st.sampled_from(API_FIELDS),
                                                        unique=True, max_size=8))}
    return method, url, data if draw(st.booleans()) else draw(JSON)


@st.composite
def a1111_requests(draw):
    """(path, JSON body) for the A1111 API."""
    body = {name: draw(JSON) for name in draw(st.lists(st.sampled_from(A1111_FIELDS),
                                                        unique=True, max_size=8))}
    return draw(st.sampled_from(A1111_CALLS)), body if draw(st.booleans()) else draw(JSON)


# Endpoints that would end the fuzzing clients' own logins, and so its reach.
NOT_ROUTE_FUZZED = ("auth.logout", "account.end_other_sessions", "admin.end_sessions", "static")


def form_field_names() -> list[str]:
    """Field names of every form class (imported with the blueprints) and the studio's."""
    from flask_wtf import FlaskForm

    pending, names = list(FlaskForm.__subclasses__()), set(GENERATION)
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        names.update(name for name in dir(form) if not name.startswith("_")
                     and hasattr(getattr(form, name), "field_class"))
    return sorted(names)


@st.composite
def route_requests(draw, rules, field_names):
    """(method, url, form data) for any rule of the app, arguments and fields generated."""
    rule = draw(st.sampled_from(rules))
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = draw(st.integers(-5, 10 ** 12))
        elif isinstance(converter, AnyConverter):  # e.g. an action: one of a fixed few words
            values[name] = draw(st.sampled_from(sorted(converter.items)))
        else:
            values[name] = _quote(draw(TEXT))
    url = rule.build(values, append_unknown=False)[1]
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    return method, url, _fill(draw, field_names)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_no_generated_request_gets_a_server_error(app, make_user, database_url):
    # No worker: queued tasks wait; an A1111 call gives up at once (504, refunded).
    app.config.update(SDAPI_WAIT_TIMEOUT=0, API_RATE_LIMIT=0, QUEUE_MAX=10 ** 6,
                      QUEUE_MAX_PER_USER=10 ** 6, LOGIN_ATTEMPTS_PER_MINUTE=0,
                      LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR=0, SIGNUPS_PER_ADDRESS_PER_HOUR=0,
                      API_ACCOUNT_RATE_LIMIT=0)
    user = make_user("fuzz@example.com", credits=10 ** 8)
    staff = make_user("staff@example.com", staff=True)
    clients = {"anonymous": app.test_client(), "user": app.test_client(),
               "staff": app.test_client()}
    for role, person in (("user", user), ("staff", staff)):
        clients[role].post("/auth/login", data={"email": person.email, "password": PASSWORD})
    with app.app_context():
        key = apikeys.create_key(db.session.get(User, user.id), "fuzz")[1]
    headers = {"Authorization": f"Bearer {key}"}
    sent: list[str] = []

    def check(response, what: str) -> None:
        response.close()
        sent.append(what)
        ok = response.status_code < 500 or (what.startswith("/sdapi/")
                                            and response.status_code == 504)
        assert ok, f"{what}: {response.status_code}"

    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in NOT_ROUTE_FUZZED]
    with app.app_context():
        field_names = form_field_names()

    @given(form=form_requests(), api=api_requests(), a1111=a1111_requests(),
           route=route_requests(rules, field_names))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(form, api, a1111, route):
        method, url, data = route  # any route of the app, as staff (who may reach them all)
        response = (clients["staff"].get(url, query_string=_safe(data)) if method == "GET"
                    else clients["staff"].post(url, data=_safe(data)))
        check(response, f"{method} {url}")
        role, method, url, data = form
        url = url.replace("{user_id}", str(user.id))
        client = clients[role]
        response = (client.get(url, query_string=_safe(data)) if method == "GET"
                    else client.post(url, data=_safe(data)))
        check(response, f"{method} {url}")
        method, url, data = api
        if method == "GET":
            response = clients["anonymous"].get(url, headers=headers, query_string=_safe(
                data if isinstance(data, dict) else {}))
        else:
            response = clients["anonymous"].post(url, headers=headers, data=_json(data),
                                                  content_type="application/json")
        check(response, f"{method} {url}")
        path, body = a1111
        response = clients["anonymous"].post(f"/sdapi/v1/{path}", headers=headers,
                                             data=_json(body), content_type="application/json")
        check(response, f"/sdapi/v1/{path}")

    run()
    assert len(sent) >= 1000


def _json(value) -> str:
    """JSON text as a client could send it (lone surrogates escaped, huge ints in full)."""
    return json.dumps(value)


def _safe(data: dict) -> dict[str, str]:
    """Form or query values as bytes a client could send (lone surrogates kept as bytes)."""
    return {name: str(value).encode("utf-8", "surrogatepass") for name, value in data.items()}
