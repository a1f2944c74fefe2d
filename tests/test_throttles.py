"""Login and sign-up throttles, and the shared counter storage (Redis when configured)."""

import uuid

import pytest
import redis

from daydream import create_app
from daydream.services import ratelimit
from tests.conftest import PASSWORD
from tests.services import port_open, unavailable


def sign_up(client, email, address="203.0.113.7"):
    data = {"email": email, "password": PASSWORD, "confirm": PASSWORD}
    return client.post("/auth/register", data=data, environ_base={"REMOTE_ADDR": address})


def test_sign_ups_are_throttled_per_address(app, client):
    # Finding 8: sign-ups were unlimited, and each brings free credits.
    app.config.update(SIGNUPS_PER_ADDRESS_PER_HOUR=3)
    assert [sign_up(client, f"n{n}@example.com").status_code for n in range(3)] == [302] * 3
    refused = sign_up(client, "n4@example.com")
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert b"Too many sign-ups from your network. Try again in 60 minutes." in refused.data
    assert refused.mimetype == "text/html"
    assert sign_up(client, "n5@example.com", address="198.51.100.1").status_code == 302


def test_logins_to_one_email_are_throttled_across_addresses(app, client, user):
    app.config.update(LOGIN_ATTEMPTS_PER_MINUTE=100, LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR=4)

    def attempt(address, email=user.email):
        return client.post("/auth/login", data={"email": email, "password": "guess it"},
                           environ_base={"REMOTE_ADDR": address}).status_code

    assert [attempt(f"10.0.0.{n}") for n in range(4)] == [401] * 4
    assert attempt("10.0.0.99") == 429, "a new address does not reset the count"
    assert attempt("10.0.0.99", "other@example.com") == 401, "per email"


@pytest.fixture
def redis_url():
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis is not reachable on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


def test_redis_storage_shares_the_count_between_processes(app_settings, tmp_path, redis_url):
    # Two apps stand for two web processes: with memory storage each would allow 3.
    namespace = f"daydream-test-{uuid.uuid4().hex}"
    settings = {**app_settings, "REDIS_URL": redis_url, "RATE_LIMIT_NAMESPACE": namespace,
                "SIGNUPS_PER_ADDRESS_PER_HOUR": 3}
    first = create_app(settings, instance_path=tmp_path / "one")
    second = create_app(settings, instance_path=tmp_path / "two")
    answers = []
    for app in (first, second, first, second):
        with app.test_request_context():
            answers.append(ratelimit.signup_wait("192.0.2.1"))
    assert answers[:3] == [0, 0, 0] and answers[3] > 0
    connection = redis.Redis.from_url(redis_url)
    keys = list(connection.scan_iter(f"*{namespace}*"))
    assert keys, "the counters are in Redis"
    connection.delete(*keys)


def test_memory_storage_is_per_process(app_settings, tmp_path):
    settings = {**app_settings, "REDIS_URL": None, "SIGNUPS_PER_ADDRESS_PER_HOUR": 1}
    first = create_app(settings, instance_path=tmp_path / "one")
    second = create_app(settings, instance_path=tmp_path / "two")
    for app in (first, second):
        with app.test_request_context():
            assert ratelimit.signup_wait("192.0.2.1") == 0
