"""Count the SQL statements a request runs: a page must not run one more for each row it shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from daydream.extensions import db


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, object]]]:
    """Collect every SQL statement (with its parameters) sent to the app's database."""
    seen: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def sqlite_plans(app: Flask, seen: list[tuple[str, object]]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN of each collected SELECT, one line per statement."""
    with app.app_context():
        connection = db.session.connection()
        return [" | ".join(row[3] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, parameters).all())
            for sql, parameters in seen if sql.lstrip().upper().startswith("SELECT")]


def count_for(app: Flask, client: FlaskClient, url: str, **kwargs) -> int:
    """How many statements one GET of ``url`` runs (asked twice; the second is counted, so
    once-a-minute bookkeeping such as a login's last-seen time does not blur the figure)."""
    client.get(url, **kwargs)
    with statements(app) as seen:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return len(seen)
