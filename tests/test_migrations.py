"""Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from daydream import create_app
from daydream.extensions import db

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def empty_app(app_settings, tmp_path):
    app = create_app(app_settings, instance_path=tmp_path / "instance")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_upgrade_matches_models(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []


def test_upgrade_then_downgrade(empty_app):
    with empty_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"user", "task", "image", "credit_entry"} <= tables
        downgrade(revision="base")
        assert not {"user", "task"} & set(inspect(db.engine).get_table_names())


def test_renaming_the_balance_column_keeps_every_balance(empty_app):
    with empty_app.app_context():
        upgrade(revision="c3d9e1a7b5f2")
        with db.engine.begin() as connection:
            connection.execute(text(
                'INSERT INTO "user" (uuid, sessionid, email, password_hash, tokens, role, active,'
                ' subscription, cancel_abandoned, created_at, updated_at) VALUES (:u, :s, :e, :p,'
                ' 42, \'user\', true, 0, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)'),
                {"u": "u-1", "s": "s-1", "e": "kept@example.com", "p": "x"})
        upgrade()
        with db.engine.connect() as connection:
            balance = connection.execute(
                text('SELECT credits FROM "user" WHERE email = :e'), {"e": "kept@example.com"})
            assert balance.scalar_one() == 42
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(text('UPDATE "user" SET credits = -1'))


def _insert_row(connection, name: str, **values) -> int:
    """Insert a row into a table as it is at this revision, filling required columns."""
    from datetime import datetime

    from sqlalchemy import Boolean, DateTime, Float, Integer, MetaData, Table

    table = Table(name, MetaData(), autoload_with=connection)
    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key \
                or column.server_default is not None:
            continue
        kind = column.type
        values[column.name] = (False if isinstance(kind, Boolean) else
                               datetime(2026, 1, 1) if isinstance(kind, DateTime) else
                               1.0 if isinstance(kind, Float) else
                               1 if isinstance(kind, Integer) else f"{name}-{column.name}")
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def test_existing_images_get_their_tasks_owner(empty_app):
    with empty_app.app_context():
        upgrade(revision="d4e8f1a2b3c5")
        with db.engine.begin() as connection:
            owners = [_insert_row(connection, "user", email=f"{n}@example.com", uuid=f"u{n}",
                                  sessionid=f"s{n}") for n in range(2)]
            tasks = [_insert_row(connection, "task", user_id=owner, uuid=f"t{owner}")
                     for owner in owners]
            for number, task in enumerate(tasks + tasks):
                _insert_row(connection, "image", task_id=task, uuid=f"i{number}")
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT image.user_id, task.user_id FROM image JOIN task"
                " ON task.id = image.task_id")).all()
        assert len(rows) == 4 and all(image == task for image, task in rows)
        assert {image for image, _ in rows} == set(owners)
