"""Settings read from the environment (``DAYDREAM_*``) and the instance folder."""

from __future__ import annotations

import os
import secrets
import tomllib
from datetime import timedelta
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


def _env_seconds(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name} must be a number of seconds, not {raw!r}") from exc
    if not 0 <= value < 3600:
        raise ConfigError(f"{ENV_PREFIX}{name} must be between 0 and 3600 seconds")
    return value


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
    # Models (issue 11): a folder of checkpoints (the library; unset: MODEL alone) and a
    # folder of LoRA .safetensors files that prompts pick with <lora:name:weight>.
    MODELS_DIR: str | None = None
    LORA_DIR: str | None = None
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
    # Generation limits (the default profile fits a 6 GB card: 512x512, no 768x768).
    MAX_PIXELS = 512 * 512
    MAX_SIDE = 1024
    MAX_STEPS = 100
    MAX_SAMPLES = 4
    MAX_PROMPT_CHARS = 1000
    QUEUE_MAX = 50
    QUEUE_MAX_PER_USER = 5
    PREVIEW_EVERY = 1
    # At most one progress event per PROGRESS_INTERVAL seconds and one preview per
    # PREVIEW_INTERVAL seconds per task: a browser cannot show more, and each one costs
    # engine time (the preview) and side-thread time (the event) on a busy worker.
    PROGRESS_INTERVAL = 0.25
    PREVIEW_INTERVAL = 0.25
    # One credit buys this many pixel-steps: 512x512 at 20 steps costs 10 credits.
    CREDIT_PIXEL_STEPS = 512 * 512 * 2
    # Time estimate before this server has finished any task (seconds per megapixel-step,
    # plus a fixed overhead per task); replaced by a learned figure as tasks finish.
    ESTIMATE_SECONDS_PER_MPX_STEP = 0.8
    ESTIMATE_TASK_OVERHEAD = 0.5
    # The learned time model is refitted at most this often (seconds): one more finished
    # task barely moves a fit of hundreds, and every submit and event asks for it.
    ESTIMATE_REFIT_INTERVAL = 5.0
    ABANDON_AFTER_SECONDS = 300
    # HTTP API: requests per minute per key (at most API_RATE_BURST in any 10 s), and how
    # long an A1111-style /sdapi call waits for its task before giving up (and refunding).
    API_RATE_LIMIT = 240
    API_RATE_BURST = 60
    SDAPI_WAIT_TIMEOUT = 600
    # Serving and deployment (`daydream serve`, idempotent submits): threads of the one web
    # process (an open page holds one), seconds a SIGTERM waits for running work, hours an
    # Idempotency-Key is remembered, and where images live (shared by every web process and
    # worker when there are several machines; default <instance>/media).
    MEDIA_PATH: str | None = None
    WEB_THREADS = 100
    SHUTDOWN_TIMEOUT = 30
    IDEMPOTENCY_HOURS = 24
    # Login attempts per email and address, a minute.
    LOGIN_ATTEMPTS_PER_MINUTE = 5
    # Scale-out (issue 9): RQ workers on Redis. QUEUE_BACKEND becomes "rq" when REDIS_URL is
    # set; JOB_TIMEOUT bounds one task (a timeout fails and refunds it); workers write a
    # heartbeat every WORKER_HEARTBEAT seconds and a running task whose worker has been silent
    # for WORKER_DEAD_AFTER seconds is taken back by the reconciler (every RECONCILE_EVERY s).
    JOB_TIMEOUT = 1800
    WORKER_HEARTBEAT = 5
    WORKER_DEAD_AFTER = 30
    RECONCILE_EVERY = 15
    WORKER_TORCH_THREADS = 1  # torch CPU threads of a worker, process or embedded (0: default)
    # Models a worker keeps loaded (least recently used out), an optional memory budget for
    # them in MB (0: none), the models it loads at start ("": the library default) and whether
    # it picks waiting tasks of models it holds first (affinity; off only to measure it).
    WORKER_MODELS = 2
    WORKER_MODELS_MB = 0
    WORKER_PRELOAD = ""
    WORKER_AFFINITY = True
    # Batching across people (issue 14): waiting txt2img tasks with the same model, size,
    # steps, sampler and guidance join the running one in one UNet batch, up to MAX_BATCH
    # images and MAX_BATCH_PIXELS pixels in all (what the memory profile allows; 0: no pixel
    # bound). MAX_BATCH 1 turns batching off.
    MAX_BATCH = 8
    MAX_BATCH_PIXELS = 4 * 512 * 512
    # Security (issue 8): trusted reverse proxies for Werkzeug's ProxyFix ("" = none; "1" =
    # one proxy sets X-Forwarded-For and -Proto; or "for=1,proto=1,host=1"), the public URL
    # the API docs show in their examples, the HSTS max-age on HTTPS responses (0 = none).
    PROXY_FIX = ""
    PUBLIC_URL: str | None = None
    HSTS_SECONDS = 31_536_000
    # Sessions, throttles and rate limits (issue 8, helper sec2). Logins end after
    # SESSION_IDLE_SECONDS without a request or SESSION_MAX_SECONDS after they began (0: no
    # limit); the remember-me cookie lasts as long. All API keys of one account share
    # API_ACCOUNT_RATE_LIMIT a minute; an address may sign up SIGNUPS_PER_ADDRESS_PER_HOUR
    # times an hour; one email takes LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR logins an hour from
    # all addresses together. Counters live in Redis when REDIS_URL is set (shared by every
    # process), else in this process.
    SESSION_IDLE_SECONDS = 7 * 24 * 3600
    SESSION_MAX_SECONDS = 30 * 24 * 3600
    REMEMBER_COOKIE_DURATION = timedelta(seconds=SESSION_MAX_SECONDS)
    API_ACCOUNT_RATE_LIMIT = 480
    SIGNUPS_PER_ADDRESS_PER_HOUR = 5
    LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR = 60
    RATE_LIMIT_NAMESPACE = "daydream"
    # Mail for password reset and email confirmation: SMTP when MAIL_SERVER is set,
    # else every message goes to the server log. MAIL_SECURITY: starttls, ssl or none.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_SECURITY = "starttls"
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "Daydream <daydream@localhost>"
    MAIL_TIMEOUT = 10
    PASSWORD_RESET_MAX_AGE = 3600
    EMAIL_LINK_MAX_AGE = 2 * 24 * 3600
    # Account self-service: how long deleting an account waits for its running task to stop.
    ACCOUNT_DELETE_WAIT_SECONDS = 15
    # Running the place (issue 13): sign-up policy (open / voucher / closed); what a
    # cancelled running task gets back (unused steps, or all); daily allowance caps per
    # role (0: none); voucher redemption attempts per user; account archives' lifetime.
    SIGNUP_POLICY = "open"
    CANCEL_REFUND = "unused"
    DAILY_ALLOWANCE_USER = 0
    DAILY_ALLOWANCE_STAFF = 0
    VOUCHER_ATTEMPTS_PER_MINUTE = 5
    VOUCHER_ATTEMPTS_PER_HOUR = 30
    ARCHIVE_KEEP_HOURS = 24
    ARCHIVE_PATH: str | None = None
    # One archive's build is bounded by ARCHIVE_JOB_TIMEOUT seconds (an RQ job's limit); a
    # building archive whose progress has not moved for ARCHIVE_STALE_SECONDS lost its
    # builder (a worker killed mid-way) and is marked failed, to be asked for again.
    ARCHIVE_JOB_TIMEOUT = 3600
    ARCHIVE_STALE_SECONDS = 120
    # Generation (issue 10): moderation of results by the safety checker. "off" (no checker
    # loaded), "flag" (flagged images never reach the gallery), "blur" (and their thumbnails
    # are blurred; the full PNG stays its owner's). SAFETY_CHECKER: a folder or cached hub
    # id of the checker (default: CompVis/stable-diffusion-safety-checker, never downloaded).
    MODERATION = "off"
    SAFETY_CHECKER: str | None = None

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
        settings["MODELS_DIR"] = _env("MODELS_DIR", settings["MODELS_DIR"]) or None
        settings["LORA_DIR"] = _env("LORA_DIR", settings["LORA_DIR"]) or None
        settings["WORKER_PRELOAD"] = _env("WORKER_PRELOAD", settings["WORKER_PRELOAD"]) or ""
        settings["WORKER_AFFINITY"] = _env_bool("WORKER_AFFINITY", settings["WORKER_AFFINITY"])
        default_backend = "rq" if settings["REDIS_URL"] else settings["QUEUE_BACKEND"]
        settings["QUEUE_BACKEND"] = _env("QUEUE_BACKEND", default_backend)
        if settings["REDIS_URL"]:
            # Socket.IO events from workers reach every web process through Redis.
            settings.setdefault("SOCKETIO_MESSAGE_QUEUE", settings["REDIS_URL"])
        for name in (
            "STARTING_CREDITS", "MAX_PIXELS", "MAX_SIDE", "MAX_STEPS", "MAX_SAMPLES",
            "MAX_PROMPT_CHARS", "QUEUE_MAX", "QUEUE_MAX_PER_USER", "MAX_CONTENT_LENGTH",
            "PREVIEW_EVERY", "ABANDON_AFTER_SECONDS", "CREDIT_PIXEL_STEPS",
            "API_RATE_LIMIT", "API_RATE_BURST", "SDAPI_WAIT_TIMEOUT",
            "LOGIN_ATTEMPTS_PER_MINUTE",
            "SESSION_IDLE_SECONDS", "SESSION_MAX_SECONDS", "API_ACCOUNT_RATE_LIMIT",
            "SIGNUPS_PER_ADDRESS_PER_HOUR", "LOGIN_ATTEMPTS_PER_EMAIL_PER_HOUR",
            "JOB_TIMEOUT", "WORKER_HEARTBEAT", "WORKER_DEAD_AFTER", "RECONCILE_EVERY",
            "WORKER_TORCH_THREADS", "WORKER_MODELS", "WORKER_MODELS_MB", "MAX_BATCH",
            "MAX_BATCH_PIXELS",
        ):
            settings[name] = _env_int(name, settings[name])
        for name in ("PROGRESS_INTERVAL", "PREVIEW_INTERVAL", "ESTIMATE_REFIT_INTERVAL"):
            settings[name] = _env_seconds(name, settings[name])
        settings["RATE_LIMIT_NAMESPACE"] = _env("RATE_LIMIT_NAMESPACE",
                                                settings["RATE_LIMIT_NAMESPACE"])
        settings["REMEMBER_COOKIE_DURATION"] = timedelta(
            seconds=settings["SESSION_MAX_SECONDS"] or 365 * 24 * 3600)
        for name in ("WEB_THREADS", "SHUTDOWN_TIMEOUT", "IDEMPOTENCY_HOURS"):
            settings[name] = _env_int(name, settings[name])
        settings["MEDIA_PATH"] = _env("MEDIA_PATH", settings["MEDIA_PATH"]) or None
        # Security (issue 8).
        settings["PROXY_FIX"] = _env("PROXY_FIX", settings["PROXY_FIX"])
        settings["PUBLIC_URL"] = _env("PUBLIC_URL", settings["PUBLIC_URL"]) or None
        settings["HSTS_SECONDS"] = _env_int("HSTS_SECONDS", settings["HSTS_SECONDS"])
        # Mail for password reset and email confirmation.
        for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM"):
            settings[name] = _env(name, settings[name]) or settings[name]
        settings["MAIL_SECURITY"] = (_env("MAIL_SECURITY") or settings["MAIL_SECURITY"]).lower()
        if settings["MAIL_SECURITY"] not in {"starttls", "ssl", "none"}:
            raise ConfigError(f"{ENV_PREFIX}MAIL_SECURITY must be starttls, ssl or none")
        for name in ("MAIL_PORT", "MAIL_TIMEOUT", "PASSWORD_RESET_MAX_AGE", "EMAIL_LINK_MAX_AGE",
                     "ACCOUNT_DELETE_WAIT_SECONDS"):
            settings[name] = _env_int(name, settings[name])
        _running_the_place(settings)
        _generation(settings)
        # Behind HTTPS, cookies should never travel over plain HTTP.
        secure = _env_bool("SECURE_COOKIES", settings.get("SESSION_COOKIE_SECURE", False))
        settings["SESSION_COOKIE_SECURE"] = settings["REMEMBER_COOKIE_SECURE"] = secure
        return settings


MODERATIONS = ("off", "flag", "blur")


def _generation(settings: dict) -> None:
    """Issue 10's settings: moderation by the safety checker."""
    settings["MODERATION"] = (_env("MODERATION") or settings["MODERATION"]).lower()
    if settings["MODERATION"] not in MODERATIONS:
        raise ConfigError(f"{ENV_PREFIX}MODERATION must be one of: {', '.join(MODERATIONS)}")
    settings["SAFETY_CHECKER"] = _env("SAFETY_CHECKER", settings["SAFETY_CHECKER"]) or None


SIGNUP_POLICIES = ("open", "voucher", "closed")
CANCEL_REFUNDS = ("unused", "all")


def _running_the_place(settings: dict) -> None:
    """Issue 13's settings: sign-up policy, cancel refunds, allowances, vouchers, archives."""
    for name in ("DAILY_ALLOWANCE_USER", "DAILY_ALLOWANCE_STAFF", "VOUCHER_ATTEMPTS_PER_MINUTE",
                 "VOUCHER_ATTEMPTS_PER_HOUR", "ARCHIVE_KEEP_HOURS", "ARCHIVE_JOB_TIMEOUT",
                 "ARCHIVE_STALE_SECONDS"):
        settings[name] = _env_int(name, settings[name])
    settings["ARCHIVE_PATH"] = _env("ARCHIVE_PATH", settings["ARCHIVE_PATH"]) or None
    for name, choices in (("SIGNUP_POLICY", SIGNUP_POLICIES), ("CANCEL_REFUND", CANCEL_REFUNDS)):
        value = (_env(name) or settings[name]).strip().lower()
        if value not in choices:
            raise ConfigError(f"{ENV_PREFIX}{name} must be one of {', '.join(choices)}, "
                              f"not {value!r}")
        settings[name] = value


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
    # Tests see one task per engine call unless they ask for batching (tests/test_batching.py).
    MAX_BATCH = 1
    # Tests watch every step's event and preview.
    PROGRESS_INTERVAL = 0.0
    PREVIEW_INTERVAL = 0.0
    # Tests see a finished task in the next estimate (tests/test_estimates.py sets a window).
    ESTIMATE_REFIT_INTERVAL = 0.0


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
