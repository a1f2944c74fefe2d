"""Browser fixtures: a live Daydream server and Debian's headless Chromium via Playwright."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.services import CHROMIUM, unavailable

# Test runs write screenshots to a build folder; `make screenshots` copies them into
# docs/screenshots/ on purpose, so an ordinary run never rewrites committed files.
SCREENSHOTS = Path(
    os.environ.get("DAYDREAM_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)


class _Response:
    """A response body whose ``close`` runs once, however often it is called."""

    def __init__(self, body) -> None:
        self.body, self.closed = body, False

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if hasattr(self.body, "close"):
                self.body.close()


def _keeping_responses(app):
    """The app, with each request's response body kept in its environ (for the handler)."""

    def wsgi(environ, start_response):
        environ["tests.response"] = _Response(app(environ, start_response))
        return environ["tests.response"]

    return wsgi


class _ClosingHandler(WSGIRequestHandler):
    """Closes every response body, also when the browser dropped the connection: Werkzeug's
    development server then skips the close (its cleanup reads the dropped socket first),
    and a static file's open handle reached the garbage collector as a ResourceWarning in
    whichever test ran then (seen on favicon.svg, now and then)."""

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            response = getattr(self, "environ", {}).get("tests.response")
            if response is not None:
                response.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on a free loopback port in a thread; yields its base URL."""
    server = make_server("localhost", 0, _keeping_responses(app), threaded=True,
                         request_handler=_ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    if not os.path.exists(CHROMIUM):
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield instance
        instance.close()


def csp_violations(page) -> list[str]:
    """Start collecting the page's Content-Security-Policy complaints; returns the list."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (desktop size); fails on CSP violations."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    yield page
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


@pytest.fixture
def phone(browser):
    """A fresh page the size of a small phone (375 px wide); fails on CSP violations."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    yield page
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def screenshot(page, name: str) -> None:
    """Save a screenshot in the build folder (``make screenshots`` publishes them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, base_url: str, email: str, password: str) -> None:
    """Log in through the real form."""
    page.goto(f"{base_url}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)
