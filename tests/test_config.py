"""Settings: environment variables, secret keys, production safety."""

import pytest

from daydream import create_app
from daydream.config import Config, ConfigError, load_secret_key, normalize_database_url


def test_production_refuses_missing_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("DAYDREAM_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="DAYDREAM_SECRET_KEY"):
        create_app(Config, instance_path=tmp_path)


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYDREAM_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DAYDREAM_DATABASE_URL", "postgresql://u@db/daydream")
    monkeypatch.setenv("DAYDREAM_QUEUE_MAX", "7")
    app = create_app(Config, instance_path=tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/daydream"
    assert app.config["QUEUE_MAX"] == 7


def test_serving_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYDREAM_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DAYDREAM_MEDIA_PATH", str(tmp_path / "shared-media"))
    monkeypatch.setenv("DAYDREAM_WEB_THREADS", "16")
    monkeypatch.setenv("DAYDREAM_SHUTDOWN_TIMEOUT", "5")
    monkeypatch.setenv("DAYDREAM_IDEMPOTENCY_HOURS", "2")
    app = create_app(Config, instance_path=tmp_path / "instance")
    assert app.config["MEDIA_PATH"] == str(tmp_path / "shared-media")
    assert (app.config["WEB_THREADS"], app.config["SHUTDOWN_TIMEOUT"],
            app.config["IDEMPOTENCY_HOURS"]) == (16, 5, 2)
    monkeypatch.delenv("DAYDREAM_MEDIA_PATH")
    default = create_app(Config, instance_path=tmp_path / "instance")
    assert default.config["MEDIA_PATH"] == str(tmp_path / "instance" / "media")


def test_bad_number_in_environment_is_named(monkeypatch):
    monkeypatch.setenv("DAYDREAM_QUEUE_MAX", "many")
    with pytest.raises(ConfigError, match="DAYDREAM_QUEUE_MAX must be a whole number"):
        Config.from_env()


def test_progress_and_preview_intervals_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DAYDREAM_PROGRESS_INTERVAL", "0.5")
    monkeypatch.setenv("DAYDREAM_PREVIEW_INTERVAL", "0")
    settings = Config.from_env()
    assert settings["PROGRESS_INTERVAL"] == 0.5 and settings["PREVIEW_INTERVAL"] == 0.0
    monkeypatch.setenv("DAYDREAM_PREVIEW_INTERVAL", "soon")
    with pytest.raises(ConfigError, match="DAYDREAM_PREVIEW_INTERVAL must be a number"):
        Config.from_env()
    monkeypatch.setenv("DAYDREAM_PREVIEW_INTERVAL", "-1")
    with pytest.raises(ConfigError, match="between 0 and 3600"):
        Config.from_env()


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYDREAM_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DAYDREAM_DATABASE_URL", raising=False)
    app = create_app(Config, instance_path=tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/daydream.sqlite3"


def test_factory_does_no_io(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYDREAM_SECRET_KEY", "x" * 40)
    instance = tmp_path / "not-created"
    create_app(Config, instance_path=instance)
    assert not instance.exists()


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = load_secret_key(tmp_path)
    assert load_secret_key(tmp_path) == first and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_normalize_database_url_leaves_others():
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_instance_file_sits_between_defaults_and_environment(monkeypatch, tmp_path):
    from daydream.config import read_instance_file

    (tmp_path / "config.toml").write_text('queue_max = 12\nSTARTING_CREDITS = 7\n'
                                          'database_url = "sqlite:////tmp/x.db"\n')
    monkeypatch.setenv("DAYDREAM_STARTING_CREDITS", "9")
    settings = Config.from_env(read_instance_file(tmp_path))
    assert settings["QUEUE_MAX"] == 12
    assert settings["STARTING_CREDITS"] == 9
    assert settings["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/x.db"


def test_broken_instance_file_is_named(tmp_path):
    from daydream.config import read_instance_file

    (tmp_path / "config.toml").write_text("queue_max = = 3")
    with pytest.raises(ConfigError, match="config.toml is not valid TOML"):
        read_instance_file(tmp_path)


def test_secure_cookies_switch(monkeypatch):
    monkeypatch.setenv("DAYDREAM_SECURE_COOKIES", "1")
    settings = Config.from_env()
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
