"""The ``daydream`` command line: serve, worker, db upgrade, users …"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from daydream.config import (
    Config,
    ConfigError,
    DevelopmentConfig,
    default_instance_path,
    load_secret_key,
    read_instance_file,
)


def load_app() -> Flask:
    """Build the app for the command line (development unless DAYDREAM_ENV=production)."""
    from daydream import create_app

    production = os.environ.get("DAYDREAM_ENV", "development") == "production"
    instance = default_instance_path()
    settings = (Config if production else DevelopmentConfig).from_env(
        read_instance_file(instance))
    instance.mkdir(parents=True, exist_ok=True)
    if not settings.get("SECRET_KEY") and not production:
        settings["SECRET_KEY"] = load_secret_key(instance)
    return create_app(settings, instance)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug/--no-debug", default=False,
              help="Flask's development server with the debugger (never in production).")
@with_appcontext
def serve_command(host: str, port: int, debug: bool) -> None:
    """Run the site (and, on the embedded default, the in-process worker)."""
    app = current_app._get_current_object()
    click.echo(f" * Daydream on http://{host}:{port}/  (database: {_db_label(app)})")
    if debug:
        _serve_debug(app, host, port)
        return
    from daydream.server import DaydreamServer

    # The app is built again inside gunicorn's worker process, after the fork: threads,
    # connections and the model must not cross a fork.
    DaydreamServer(load_app, host, port, threads=app.config["WEB_THREADS"],
                   shutdown_timeout=app.config["SHUTDOWN_TIMEOUT"]).run()


def _serve_debug(app: Flask, host: str, port: int) -> None:
    """Werkzeug's development server, for ``--debug`` only."""
    from daydream.embedded import start_embedded_worker, uses_embedded_worker
    from daydream.engine.errors import EngineError
    from daydream.extensions import socketio

    if uses_embedded_worker(app):
        model = app.config.get("MODEL") or "the demo model (built offline on first start)"
        click.echo(f" * Loading {model} …")
        worker = start_embedded_worker(app)
        try:
            worker.wait_ready()
        except EngineError as error:
            raise click.ClickException(f"Could not load the model: {error}") from error
        click.echo(f" * Model ready: {worker.engine.model_name}")
    # Flask's CLI marks itself to make app.run() a no-op; this command is the server.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    # No reloader: it would fork a second process with a second worker and model.
    socketio.run(app, host=host, port=port, debug=True, use_reloader=False,
                 allow_unsafe_werkzeug=True)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queue is empty (for tests).")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run a queue worker (for the Redis deployment; the embedded default needs none)."""
    app = current_app._get_current_object()
    if app.config["QUEUE_BACKEND"] == "local":
        raise click.ClickException(
            "The embedded default runs its worker inside `daydream serve`. "
            "Set DAYDREAM_REDIS_URL to run workers as separate processes.")
    from daydream.worker_process import run_worker

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(app, burst=burst)


def _db_label(app: Flask) -> str:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return url.split("@")[-1] if "@" in url else url


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--staff", is_flag=True, help="Give the account the staff role.")
# Pages and the CLI say "credits"; --tokens stays as an alias for existing scripts.
@click.option("--credits", "--tokens", "starting_credits", type=click.IntRange(min=0), default=None,
              help="Starting credits (default: STARTING_CREDITS).")
@with_appcontext
def users_create(email: str, password_stdin: bool, staff: bool,
                 starting_credits: int | None) -> None:
    """Create an account."""
    from daydream.services import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(email, password, staff=staff,
                                  starting_credits=starting_credits)
    except users.AccountError as error:
        raise click.ClickException(str(error)) from error
    role = "staff" if user.is_staff else "user"
    click.echo(f"Created {role} {user.email} with {user.credits} credits.")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List accounts with their role, state and credits."""
    from sqlalchemy import select

    from daydream.extensions import db
    from daydream.models import User

    rows = db.session.scalars(select(User).order_by(User.id)).all()
    if not rows:
        click.echo("No users yet. Create one with: daydream users create EMAIL --staff")
        return
    click.echo(f"{'id':>4}  {'email':<40} {'role':<6} {'state':<8} {'credits':>8}")
    for user in rows:
        state = "active" if user.active else "disabled"
        click.echo(f"{user.id:>4}  {user.email:<40} {user.role:<6} {state:<8} {user.credits:>8}")


@users_group.command("grant")
@click.argument("email")
@click.argument("amount", type=click.IntRange(min=1))
@click.option("--note", default="Granted from the command line")
@with_appcontext
def users_grant(email: str, amount: int, note: str) -> None:
    """Grant credits to an account."""
    from daydream.extensions import db
    from daydream.services import credits, users

    user = users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email!r}.")
    try:
        credits.credit(user.id, amount, note=note)
    except credits.BalanceCapExceeded as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    db.session.refresh(user)
    click.echo(f"{user.email} now has {user.credits} credits.")


@users_group.command("logout")
@click.argument("email", required=False)
@click.option("--all", "everyone", is_flag=True, help="End the logins of every account.")
@with_appcontext
def users_logout(email: str | None, everyone: bool) -> None:
    """End every login of one account (or of all with --all): each must log in again."""
    from daydream.services import logins, users

    if everyone == bool(email):
        raise click.UsageError("Give one EMAIL or --all.")
    if everyone:
        click.echo(f"Ended {logins.end_everyone('ended by operator')} logins.")
        return
    user = users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email!r}.")
    click.echo(f"Ended {logins.end_all(user, 'ended by operator')} logins of {user.email}.")


@click.group("keys")
def keys_group() -> None:
    """Manage API keys."""


def _user_or_fail(email: str):
    from daydream.services import users

    user = users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email!r}.")
    return user


@keys_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the key is for, e.g. the script's name.")
@with_appcontext
def keys_create(email: str, name: str) -> None:
    """Create an API key for an account and print it (it is shown only once)."""
    from daydream.services import apikeys

    try:
        _key, token = apikeys.create_key(_user_or_fail(email), name)
    except apikeys.ApiKeyError as error:
        raise click.ClickException(str(error)) from error
    click.echo(token)


@keys_group.command("list")
@click.argument("email")
@with_appcontext
def keys_list(email: str) -> None:
    """List an account's keys: id, prefix, name, created, last used."""
    from daydream.services import apikeys

    rows = apikeys.list_keys(_user_or_fail(email))
    if not rows:
        click.echo(f"No keys. Create one with: daydream keys create {email} --name NAME")
        return
    for key in rows:
        used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
        click.echo(f"{key.id:>4}  {key.prefix}…  {key.name:<30} "
                   f"created {key.created_at:%Y-%m-%d %H:%M}  last used {used}")


@keys_group.command("revoke")
@click.argument("email")
@click.argument("key_id", type=int)
@with_appcontext
def keys_revoke(email: str, key_id: int) -> None:
    """Revoke one of an account's keys (its id from ``keys list``)."""
    from daydream.services import apikeys

    if not apikeys.revoke(_user_or_fail(email), key_id):
        raise click.ClickException(f"{email} has no key with id {key_id}.")
    click.echo(f"Revoked key {key_id}.")


@click.group("gallery")
def gallery_group() -> None:
    """Curate the public gallery."""


@gallery_group.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--owner", "owner_email", default=None,
              help="Account the images belong to (default: the first staff account).")
@click.option("--feature", is_flag=True, help="Also feature the images on the landing page.")
@with_appcontext
def gallery_import(folder: Path, owner_email: str | None, feature: bool) -> None:
    """Seed the gallery from a folder of images (reads A1111 parameters when present)."""
    from sqlalchemy import select

    from daydream.extensions import db
    from daydream.models import Role, User
    from daydream.services import gallery_import as importer

    if owner_email:
        owner = _user_or_fail(owner_email)
    else:
        owner = db.session.scalar(select(User).where(User.role == Role.STAFF.value)
                                  .order_by(User.id).limit(1))
        if owner is None:
            raise click.ClickException(
                "No staff account to own the images: create one with "
                "`daydream users create EMAIL --staff`, or pass --owner EMAIL.")
    report = importer.import_folder(folder, owner, featured=feature)
    for name in report.imported:
        click.echo(f"imported {name}")
    for name, reason in report.skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    click.echo(f"Imported {len(report.imported)} image(s) for {owner.email}; "
               f"skipped {len(report.skipped)}.")


def register_commands(app: Flask) -> None:
    """Attach Daydream's commands to the app's CLI."""
    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(users_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(gallery_group)


def main() -> None:
    """Entry point of the ``daydream`` console script."""
    cli = FlaskGroup(
        name="daydream",
        create_app=load_app,
        add_default_commands=False,
        add_version_option=False,
        help="Daydream: a shared Stable Diffusion service.",
    )
    try:
        cli.main(prog_name="daydream")
    except ConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
