"""The ``daydream`` command line, run as a real subprocess where it matters."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daydream.extensions import db
from daydream.services import users

ROOT = Path(__file__).resolve().parents[1]


def run_cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run ``daydream`` in a fresh instance folder, as an operator would."""
    env = {**os.environ, "DAYDREAM_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("DAYDREAM_DATABASE_URL", None)
    env.pop("DAYDREAM_ENV", None)
    return subprocess.run(
        [sys.executable, "-c", "from daydream.cli import main; main()", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )


def test_db_upgrade_and_users_create_and_list(tmp_path):
    upgraded = run_cli(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "instance" / "daydream.sqlite3").exists()
    assert (tmp_path / "instance" / "secret_key").exists()
    created = run_cli(tmp_path, "users", "create", "Boss@Example.com", "--password-stdin",
                      "--staff", "--credits", "42", stdin="a fine password\n")
    assert created.returncode == 0, created.stderr
    assert "Created staff boss@example.com with 42 credits." in created.stdout
    listed = run_cli(tmp_path, "users", "list")
    assert "boss@example.com" in listed.stdout and "staff" in listed.stdout


def test_production_without_secret_key_fails_clearly(tmp_path):
    env_run = subprocess.run(
        [sys.executable, "-c", "from daydream.cli import main; main()", "users", "list"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "DAYDREAM_SECRET_KEY"},
             "DAYDREAM_ENV": "production", "DAYDREAM_INSTANCE_PATH": str(tmp_path)},
    )
    assert env_run.returncode != 0
    assert "DAYDREAM_SECRET_KEY is not set" in env_run.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "create", "not-an-email", "--password-stdin"], "a fine password\n",
         "Enter a valid email address."),
        (["users", "create", "a@example.com", "--password-stdin"], "short\n",
         "at least 8 characters"),
        (["users", "create", "a@example.com", "--tokens", "-5"], "", "-5 is not in the range"),
        (["users", "grant", "ghost@example.com", "10"], "", "No user with email"),
        (["serve", "--port", "0"], "", "0 is not in the range"),
    ],
)
def test_cli_errors_are_clear(app, args, stdin, message):
    runner = app.test_cli_runner()
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output


def test_duplicate_user_is_refused(app, make_user):
    make_user("dup@example.com")
    result = app.test_cli_runner().invoke(
        args=["users", "create", "dup@example.com", "--password-stdin"], input="a fine password\n"
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_users_grant(app, user):
    result = app.test_cli_runner().invoke(args=["users", "grant", user.email, "25"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert users.find_by_email(user.email).credits == app.config["STARTING_CREDITS"] + 25
        db.session.rollback()


def test_users_create_takes_credits(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "ops@example.com", "--password-stdin", "--credits", "7"],
        input="a fine password\n")
    assert result.exit_code == 0, result.output
    assert "Created user ops@example.com with 7 credits." in result.output
