"""Whatever JSON an A1111 client sends to /sdapi, the answer is never a 500."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import a1111
from tests.api.conftest import bearer

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=6)
FIELDS = sorted(set(a1111.txt2img()) | set(a1111.img2img()) | {"image"})
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8) | JSON
PATHS = st.sampled_from(["txt2img", "img2img", "png-info", "options"])


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(path=PATHS, body=BODIES)
def test_no_input_gives_a_500(app, client, make_user, make_key, path, body):
    # No worker runs: a valid request queues a task, and a zero wait answers 504 at once.
    app.config.update(SDAPI_WAIT_TIMEOUT=0, API_RATE_LIMIT=0, QUEUE_MAX_PER_USER=10_000,
                      QUEUE_MAX=10_000)
    if "headers" not in app.config:
        app.config["headers"] = bearer(make_key(make_user("fuzz@example.com", credits=10**9)))
    response = client.post(f"/sdapi/v1/{path}", data=json.dumps(body),
                           headers={**app.config["headers"], "Content-Type": "application/json"})
    assert response.status_code < 500 or response.status_code == 504, response.json
    if response.status_code >= 400:
        assert set(response.json["error"]) == {"code", "message", "details"}
