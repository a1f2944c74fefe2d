"""Public pages, navigation and error pages."""

import pytest


@pytest.mark.parametrize("path", ["/", "/docs", "/gallery", "/terms", "/auth/login",
                                  "/auth/register"])
def test_public_pages_render(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b"Daydream" in response.data


def test_navigation_for_anonymous(client):
    page = client.get("/").get_data(as_text=True)
    assert "Log in" in page and "Sign up" in page and "Log out" not in page


def test_navigation_for_user(client, auth, user):
    auth.login(user.email)
    page = client.get("/").get_data(as_text=True)
    assert "Log out" in page and "credits" in page and 'href="/admin/"' not in page


def test_the_allowance_plan_is_real_or_absent(app, client):
    page = client.get("/").get_data(as_text=True)
    assert "Subscribe — not yet available" not in page and "Daily allowance" not in page
    app.config["DAILY_ALLOWANCE_USER"] = 150
    page = client.get("/").get_data(as_text=True)
    assert "Daily allowance" in page and "refills to 150 credits every day" in page


def test_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"There is nothing here." in response.data
    assert b"<html" in response.data


def test_405_on_api_is_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_405_keeps_the_allow_header(client):
    page = client.get("/auth/logout")
    api = client.delete("/api/v1/openapi.json")
    assert page.status_code == api.status_code == 405
    assert "POST" in page.headers["Allow"] and "GET" in api.headers["Allow"]
    assert api.json["error"]["code"] == "method_not_allowed"


def test_500_page_is_html(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.data
