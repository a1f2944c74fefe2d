"""The OpenAPI document and the API documentation page."""

from daydream.api import schemas
from daydream.services import tasks
from tests.api.conftest import TINY


def test_document_is_public_and_describes_every_operation(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.1")
    operations = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    assert operations == {
        ("/api/v1/tasks", "post"), ("/api/v1/tasks", "get"), ("/api/v1/tasks/{task_id}", "get"),
        ("/api/v1/tasks/{task_id}/cancel", "post"), ("/api/v1/tasks/{task_id}.zip", "get"),
        ("/api/v1/images/{image_id}.png", "get"),
        ("/api/v1/images/{image_id}.thumb.webp", "get"), ("/api/v1/account", "get"),
        ("/api/v1/info", "get"), ("/api/v1/library", "get"),
        ("/api/v1/images/{image_id}/favourite", "post"), ("/api/v1/images/{image_id}", "delete"),
        ("/api/v1/library/delete", "post"), ("/api/v1/library/zip", "post")}
    submit = spec["paths"]["/api/v1/tasks"]["post"]["responses"]
    assert {"202", "200", "400", "401", "402", "403", "413", "429", "503"} <= set(submit)
    assert "Retry-After" in submit["429"]["headers"]


def test_document_holds_the_schema_that_validates_requests(app, client):
    spec = client.get("/api/v1/openapi.json").json
    with app.app_context():
        assert spec["components"]["schemas"]["TaskRequest"] == schemas.task_request(
            tasks.limits())


def test_document_follows_the_configured_limits(app, client, headers):
    app.config.update(MAX_STEPS=30, MAX_PROMPT_CHARS=50)
    body = client.get("/api/v1/openapi.json").json["components"]["schemas"]["TaskRequest"]
    assert body["properties"]["steps"]["maximum"] == 30
    assert body["properties"]["prompt"]["maxLength"] == 50
    response = client.post("/api/v1/tasks", json={**TINY, "steps": 31}, headers=headers)
    assert response.json["error"]["details"]["steps"] == "steps must be at most 30"


def test_docs_page_uses_the_site_layout_and_shows_examples(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for text in ("HTTP API · Daydream", "Authorization: Bearer", "curl -s -X POST",
                 "import time, requests", "/sdapi/v1/txt2img", "/api/v1/tasks/{task_id}.zip",
                 'data-testid="openapi-link"', "Documentation</a>"):
        assert text in html, text


def test_documentation_page_links_to_the_api_docs(client):
    assert 'href="/api/docs"' in client.get("/docs").get_data(as_text=True)
