"""Daydream: a self-hosted, multi-user Stable Diffusion service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from daydream.config import (
    Config,
    ConfigError,
    default_instance_path,
    normalize_database_url,
    sqlite_url,
)
from daydream.security import DatabaseIdConverter


def create_app(
    config: Mapping | type | None = None, instance_path: str | Path | None = None
) -> Flask:
    """Build the web application: settings, extensions, blueprints, error handlers, CLI.

    Wiring only: nothing here touches the disk, the database or a model.
    """
    instance = Path(instance_path) if instance_path else default_instance_path()
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_mapping(_settings(config))
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", None)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = sqlite_url(instance)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config.get("MEDIA_PATH") is None:
        app.config["MEDIA_PATH"] = str(instance / "media")
    if not app.config.get("SECRET_KEY"):
        raise ConfigError(
            "DAYDREAM_SECRET_KEY is not set. Production refuses to run without a secret key; "
            "set it to a long random string (development: `daydream serve` creates one)."
        )

    _init_extensions(app)
    _register_blueprints(app)

    from daydream import security

    security.init_app(app)

    from daydream import errors

    errors.register(app)

    from daydream.cli import register_commands

    register_commands(app)
    return app


def _settings(config: Mapping | type | None) -> dict:
    if config is None:
        return Config.from_env()
    if isinstance(config, type):
        return config.from_env() if hasattr(config, "from_env") else {
            k: getattr(config, k) for k in dir(config) if k.isupper()
        }
    return dict(config)


def _init_extensions(app: Flask) -> None:
    from daydream.extensions import csrf, db, login_manager, migrate, socketio

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    # One SocketIO object serves every app built in this process (tests build many); it keeps
    # the last message-queue manager in its options, so an app without a queue must drop it.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"),
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
    )

    from daydream.services import logins
    from daydream.studio import sockets

    # Registered per app: every init_app builds a new Socket.IO server.
    sockets.register(socketio)

    login_manager.user_loader(logins.load)


def _register_blueprints(app: Flask) -> None:
    from daydream.account import bp as account_bp
    from daydream.admin import bp as admin_bp
    from daydream.api import bp as api_bp
    from daydream.auth import bp as auth_bp
    from daydream.extensions import csrf
    from daydream.library import bp as library_bp
    from daydream.media import bp as media_bp
    from daydream.pages import bp as pages_bp
    from daydream.sdapi import bp as sdapi_bp
    from daydream.studio import bp as studio_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(studio_bp, url_prefix="/studio")
    app.register_blueprint(library_bp, url_prefix="/library")
    app.register_blueprint(media_bp)
    # The APIs authenticate with keys, never cookies, so CSRF does not apply to them.
    csrf.exempt(api_bp)
    csrf.exempt(sdapi_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(sdapi_bp, url_prefix="/sdapi/v1")
