"""Reach the real services the tests use, or say clearly why they are not there.

Locally a missing service skips its tests with the reason; under ``CI=true`` it fails them,
so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "DAYDREAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CHROMIUM = os.environ.get("DAYDREAM_TEST_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) because a real service is missing."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_schema() -> str:
    """This test process's own schema in the shared database, so parallel runs never meet."""
    return f"daydream_test_{os.getpid()}"


def reset_postgres() -> str:
    """Give the test a fresh, empty PostgreSQL schema of its own and return its URL.

    The URL sets ``search_path`` to a schema named after this process, so two test runs
    (or a developer's and CI's) can share the one ``test`` database without dropping each
    other's tables.
    """
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
    import psycopg

    schema = postgres_schema()
    plain_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def drop_postgres_schema() -> None:
    """Remove this process's schema at the end of the run (if PostgreSQL was used)."""
    if not port_open("127.0.0.1", 5432):
        return
    import psycopg

    plain_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{postgres_schema()}" CASCADE')

