"""Settings read from the environment (``DAYDREAM_*``) and the instance folder."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path

ENV_PREFIX = "DAYDREAM_"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name, default)


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name} must be a whole number, not {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def default_instance_path() -> Path:
    """The instance folder: ``DAYDREAM_INSTANCE_PATH`` or ``./instance``."""
    return Path(_env("INSTANCE_PATH") or Path.cwd() / "instance").resolve()


class Config:
    """Production-safe defaults; every value can be overridden by ``DAYDREAM_<NAME>``."""

    ENV = "production"
    TESTING = False
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL: str | None = None
    MODEL: str | None = None
    MODEL_PROFILE = "default"
    QUEUE_BACKEND = "local"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    MAX_UPLOAD_PIXELS = 4096 * 4096
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    # argon2id; the library defaults sit above OWASP ASVS 5.0's table.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    STARTING_CREDITS = 500
    SIGNUPS_OPEN = True
    # Generation limits (the default profile fits a 6 GB card: 512x512, no 768x768).
    MAX_PIXELS = 512 * 512
    MAX_SIDE = 1024
    MAX_STEPS = 100
    MAX_SAMPLES = 4
    MAX_PROMPT_CHARS = 1000
    QUEUE_MAX = 50
    QUEUE_MAX_PER_USER = 5
    PREVIEW_EVERY = 1
    # One credit buys this many pixel-steps: 512x512 at 20 steps costs 10 credits.
    CREDIT_PIXEL_STEPS = 512 * 512 * 2
    # Time estimate before this server has finished any task (seconds per megapixel-step,
    # plus a fixed overhead per task); replaced by a learned figure as tasks finish.
    ESTIMATE_SECONDS_PER_MPX_STEP = 0.8
    ESTIMATE_TASK_OVERHEAD = 0.5
    ABANDON_AFTER_SECONDS = 300
    # HTTP API: requests per minute per key (a token bucket holding API_RATE_BURST), and how
    # long an A1111-style /sdapi call waits for its task before giving up (and refunding).
    API_RATE_LIMIT = 240
    API_RATE_BURST = 60
    SDAPI_WAIT_TIMEOUT = 600
    # Login attempts per email and address: 10 at once, then 5 a minute.
    LOGIN_ATTEMPTS_PER_MINUTE = 5
    LOGIN_ATTEMPTS_BURST = 10

    @classmethod
    def from_env(cls, file_settings: dict | None = None) -> dict:
        """Defaults, then the instance file's settings, then ``DAYDREAM_*`` overrides."""
        settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        settings.update(file_settings or {})
        settings["SECRET_KEY"] = _env("SECRET_KEY", settings["SECRET_KEY"])
        settings["SQLALCHEMY_DATABASE_URI"] = _env(
            "DATABASE_URL", settings["SQLALCHEMY_DATABASE_URI"]
        )
        settings["REDIS_URL"] = _env("REDIS_URL", settings["REDIS_URL"])
        settings["MODEL"] = _env("MODEL", settings["MODEL"]) or None
        settings["MODEL_PROFILE"] = _env("MODEL_PROFILE", settings["MODEL_PROFILE"])
        settings["QUEUE_BACKEND"] = _env("QUEUE_BACKEND", settings["QUEUE_BACKEND"])
        for name in (
            "STARTING_CREDITS", "MAX_PIXELS", "MAX_SIDE", "MAX_STEPS", "MAX_SAMPLES",
            "MAX_PROMPT_CHARS", "QUEUE_MAX", "QUEUE_MAX_PER_USER", "MAX_CONTENT_LENGTH",
            "PREVIEW_EVERY", "ABANDON_AFTER_SECONDS", "CREDIT_PIXEL_STEPS",
            "API_RATE_LIMIT", "API_RATE_BURST", "SDAPI_WAIT_TIMEOUT",
            "LOGIN_ATTEMPTS_PER_MINUTE", "LOGIN_ATTEMPTS_BURST",
        ):
            settings[name] = _env_int(name, settings[name])
        settings["SIGNUPS_OPEN"] = _env_bool("SIGNUPS_OPEN", settings["SIGNUPS_OPEN"])
        # Behind HTTPS, cookies should never travel over plain HTTP.
        secure = _env_bool("SECURE_COOKIES", settings.get("SESSION_COOKIE_SECURE", False))
        settings["SESSION_COOKIE_SECURE"] = settings["REMEMBER_COOKIE_SECURE"] = secure
        return settings


class DevelopmentConfig(Config):
    """``daydream serve`` on a laptop: a secret key generated into the instance folder."""

    ENV = "development"


class TestConfig(Config):
    """An explicit configuration for the test suite: fast hashes, no CSRF by default."""

    ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    WTF_CSRF_ENABLED = False
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    SERVER_NAME = None


def read_instance_file(instance_path: Path) -> dict:
    """Settings from ``<instance>/config.toml`` (upper- or lower-case keys), if it exists."""
    path = instance_path / "config.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    aliases = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}
    return {aliases.get(key.upper(), key.upper()): value for key, value in data.items()}


def load_secret_key(instance_path: Path) -> str:
    """Return the instance's secret key, generating it on first use (development only)."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with owner-only permissions: the key signs every session cookie.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (``postgresql://…``)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_url(instance_path: Path) -> str:
    """The embedded default database: a SQLite file in the instance folder."""
    return f"sqlite:///{instance_path / 'daydream.sqlite3'}"
