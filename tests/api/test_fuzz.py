"""Property-based fuzzing of /api/v1 against its own OpenAPI document (schemathesis, WSGI).

Every generated request, valid (positive) or not (negative), must get a documented status,
never a 500, and a response that matches the document. One test per operation and mode;
derandomized, so a run is reproducible and a failure reappears on the next run.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from daydream.api import openapi
from daydream.engine.params import Limits
from tests.api.conftest import bearer

OPERATIONS = [(path, method) for path, methods in openapi.build(Limits())["paths"].items()
              for method in methods]
EXAMPLES = 20


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_operation_conforms_to_the_document(app, make_user, make_key, path, method, mode):
    # Plenty of credits and no rate limit, so generated requests reach the real code paths.
    app.config.update(API_RATE_LIMIT=0, QUEUE_MAX=10_000, QUEUE_MAX_PER_USER=10_000)
    headers = bearer(make_key(make_user("fuzz@example.com", credits=10**9)))
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    # JSON Schema cannot state width × height ≤ MAX_PIXELS, nor that init_image must decode
    # to a picture: schema-valid submissions may rightly get a 400 naming the rule.
    excluded = [positive_data_acceptance] if (path, method) == ("/api/v1/tasks", "post") else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def conforms(case):
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    conforms()
