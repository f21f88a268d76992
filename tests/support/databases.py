"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

BACKENDS = ("sqlite", "postgresql")

# The server that tests create their databases on (trust auth on this machine).
POSTGRES_ADMIN_URL = os.environ.get("KYSO_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def _postgres_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """Yield a ``KYSO_DATABASE_URL`` for an empty database of the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'kyso.db'}"
        return
    name = f"kyso_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _postgres_url(name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
