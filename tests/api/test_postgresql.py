"""The API on PostgreSQL: keys, submit/list, and an A1111 call that waits for the worker."""

import json

import pytest

from tests.api import a1111
from tests.api.conftest import TINY, basic

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_keys_tasks_and_listing(client, user, headers):
    task = client.post("/api/v1/tasks", json=TINY, headers=headers).json
    assert task["state"] == "queued" and task["position"] == 1
    listed = client.get("/api/v1/tasks?state=queued", headers=headers).json
    assert [t["id"] for t in listed["tasks"]] == [task["id"]]
    assert client.post(f"/api/v1/tasks/{task['id']}/cancel", headers=headers).json[
        "state"] == "cancelled"


def test_sdapi_waits_for_the_worker(client, user, make_key, worker):
    body = a1111.txt2img(**a1111.SMALL, seed=8)
    response = client.post("/sdapi/v1/txt2img", json=body, headers=basic(make_key(user)))
    assert response.status_code == 200, response.json
    assert json.loads(response.json["info"])["all_seeds"] == [8]
