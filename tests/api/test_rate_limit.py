"""Per-key rate limits: a token bucket per key, 429 with Retry-After beyond it."""

from daydream.services.ratelimit import RateLimiter
from tests.api.conftest import bearer


def test_bucket_allows_a_burst_then_refills():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.hit("k", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert limiter.hit("k", now=0.0) == 1, "one token a second: retry in 1 s"
    assert limiter.hit("other", now=0.0) == 0, "each key has its own bucket"
    assert limiter.hit("k", now=1.0) == 0
    assert limiter.hit("k", now=1.0) == 1


def test_zero_turns_the_limit_off():
    limiter = RateLimiter(per_minute=0, burst=1)
    assert all(limiter.hit("k", now=0.0) == 0 for _ in range(100))


def test_requests_beyond_the_limit_get_429_with_retry_after(app, client, user, make_key):
    app.config.update(API_RATE_LIMIT=6, API_RATE_BURST=2)
    mine, other = bearer(make_key(user)), bearer(make_key(user, "second"))
    assert client.get("/api/v1/account", headers=mine).status_code == 200
    assert client.get("/sdapi/v1/options", headers=mine).status_code == 200
    limited = client.get("/api/v1/account", headers=mine)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "10"
    assert limited.json["error"]["code"] == "rate_limited"
    assert limited.json["error"]["details"] == {"retry_after": 10}
    assert client.get("/api/v1/account", headers=other).status_code == 200, "per key"
