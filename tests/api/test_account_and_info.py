"""The caller's account and the server's info."""

from tests.api.conftest import TINY


def test_account_shows_credits_limits_and_rate(app, client, user, headers):
    client.post("/api/v1/tasks", json=TINY, headers=headers)
    account = client.get("/api/v1/account", headers=headers).json
    assert account["email"] == user.email and account["id"] == user.uuid
    assert account["credits"] == 499 and account["unfinished_tasks"] == 1
    assert account["role"] == "user"
    assert account["limits"]["max_samples"] == 4 and account["limits"]["max_pixels"] == 512 * 512
    assert account["limits"]["queue_max_per_user"] == app.config["QUEUE_MAX_PER_USER"]
    assert account["rate_limit"] == {"per_minute": 240, "burst": 60, "account_per_minute": 480}


def test_info_shows_model_schedulers_limits_and_queue(app, client, headers):
    client.post("/api/v1/tasks", json=TINY, headers=headers)
    info = client.get("/api/v1/info", headers=headers).json
    assert info["model"] == {"name": "daydream-demo", "demo": True}
    assert info["models"] == [info["model"]]
    assert "Euler a" in info["schedulers"] and "DPM++ 2M Karras" in info["schedulers"]
    assert info["limits"]["max_steps"] == 100
    assert info["queue"]["waiting"] == 1 and info["queue"]["running"] == 0
    assert info["queue"]["max"] == app.config["QUEUE_MAX"] and info["queue"]["wait_seconds"] > 0


def test_info_names_a_configured_model(app, client, headers):
    app.config["MODEL"] = "/models/dreamshaper_8.safetensors"
    assert client.get("/api/v1/info", headers=headers).json["model"] == {
        "name": "dreamshaper_8", "demo": False}
    app.config["MODEL"] = "runwayml/stable-diffusion-v1-5"
    assert client.get("/api/v1/info", headers=headers).json["model"]["name"] == (
        "runwayml/stable-diffusion-v1-5")


def test_limits_follow_the_configuration(app, client, headers):
    app.config["MAX_SAMPLES"] = 2
    assert client.get("/api/v1/account", headers=headers).json["limits"]["max_samples"] == 2
    response = client.post("/api/v1/tasks", json={**TINY, "samples": 3}, headers=headers)
    assert response.json["error"]["details"]["samples"] == "samples must be at most 2"
