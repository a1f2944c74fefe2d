"""Shared fixtures: an app with a fresh database per test, clients, auth, factories."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from daydream import create_app  # noqa: E402
from daydream.config import TestConfig  # noqa: E402
from daydream.extensions import db as _db  # noqa: E402
from daydream.models import User  # noqa: E402
from daydream.services import archive_jobs  # noqa: E402
from tests.library_factories import make_images  # noqa: E402,F401  (a fixture)
from tests.mailbox import mailbox  # noqa: E402,F401  (a fixture)
from tests.services import drop_postgres_schema, reset_postgres  # noqa: E402

PASSWORD = "correct horse battery"
# The database every test runs on unless it asks for one: `make test` runs the suite twice.
TEST_DATABASE = os.environ.get("DAYDREAM_TEST_DATABASE", "sqlite")


def pytest_sessionfinish(session, exitstatus) -> None:
    """Drop this run's PostgreSQL schema; the shared ``test`` database stays tidy."""
    drop_postgres_schema()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """SQLite in the test's folder, or PostgreSQL with DAYDREAM_TEST_DATABASE=postgresql.

    A test parametrized ``indirect`` with "sqlite" or "postgresql" gets that one regardless.
    """
    kind = getattr(request, "param", TEST_DATABASE)
    if kind == "postgresql":
        return reset_postgres()
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def app_settings(database_url: str, tmp_path) -> dict:
    """The test configuration; a test may override keys before ``app`` is built."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        MEDIA_PATH=str(tmp_path / "media"),
        # Rate-limit counters of one test never meet another's, even in a shared Redis.
        RATE_LIMIT_NAMESPACE=f"daydream-test-{uuid.uuid4().hex}",
    )
    return settings


@pytest.fixture
def app(app_settings: dict, tmp_path) -> Iterator[Flask]:
    """A Daydream app on a fresh, empty database."""
    app = create_app(app_settings, instance_path=tmp_path / "instance")
    with app.app_context():
        _db.create_all()
    yield app
    # A background archive build still running would open a connection to a database that
    # is about to go, and leave it for the garbage collector (a ResourceWarning on PG).
    assert archive_jobs.wait_idle(app), "an archive build outlived its test"
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for browser-like requests."""
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Factory: ``make_user(email=..., staff=False, credits=None, password=PASSWORD)``."""
    counter = iter(range(1, 10_000))

    def factory(email: str | None = None, *, password: str = PASSWORD, staff: bool = False,
                credits: int | None = None, **fields) -> User:
        from daydream.services import users

        with app.app_context():
            user = users.create_user(
                email or f"user{next(counter)}@example.com", password,
                staff=staff, starting_credits=credits, **fields,
            )
            _db.session.refresh(user)
            _db.session.expunge(user)
            return user

    return factory


class AuthActions:
    """Log in and out through the real pages."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD, **extra):
        """POST the login form."""
        data = {"email": email, "password": password, **extra}
        return self._client.post("/auth/login", data=data)

    def logout(self):
        """POST the logout form."""
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Log the test client in and out."""
    return AuthActions(client)


@pytest.fixture
def user(make_user) -> User:
    """An ordinary user with the default starting credits."""
    return make_user("dreamer@example.com")


@pytest.fixture
def staff(make_user) -> User:
    """A staff user."""
    return make_user("staff@example.com", staff=True)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; fail the test with a clear message otherwise."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory):
    """The real engine on the demo model, built, loaded and warmed up once for the run."""
    from daydream.engine.pipeline import Engine
    from daydream.runner import warm_up

    engine = Engine.load(None, cache_dir=tmp_path_factory.mktemp("models"))
    warm_up(engine)  # as every worker does: no test's first task (or estimate) pays for it
    return engine


@pytest.fixture
def worker(app, demo_engine):
    """The real in-process worker thread, running tasks on the demo model."""
    from daydream.worker import Worker

    running = Worker(app, engine=demo_engine).start()
    running.wait_ready(60)
    yield running
    running.stop()


SMALL = {"prompt": "a lighthouse at dawn", "width": "64", "height": "64", "steps": "2",
         "cfg_scale": "7", "samples": "1", "scheduler": "Euler", "random_seed": "1"}


@pytest.fixture
def png_bytes():
    """Factory for a small PNG (of a given size) as bytes."""
    import io

    from PIL import Image

    def make(width: int = 96, height: int = 80, fmt: str = "PNG") -> io.BytesIO:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, fmt)
        buffer.seek(0)
        return buffer

    return make


def fetch(client: FlaskClient, url: str, **kwargs):
    """GET a (file) response, read it and close it (send_file keeps the file open)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


@pytest.fixture
def make_task(app):
    """Factory: a task row for ``user`` with sensible small defaults (no queue, no charge)."""

    def factory(user: User, **fields):
        from daydream.models import Task

        values = {"prompt": "a test", "width": 64, "height": 64, "steps": 2, "guidance": 7.0,
                  "scheduler": "Euler", "seed": 42, "cost": 1, "sessionid": user.sessionid}
        values.update(fields)
        with app.app_context():
            task = Task(user_id=user.id, **values)
            _db.session.add(task)
            _db.session.commit()
            _db.session.refresh(task)
            _db.session.expunge(task)
            return task

    return factory
