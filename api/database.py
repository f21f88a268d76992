"""Database engine, the unit of work, migrations and the start-up lock."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

import migrations
from api.sqlite_writers import writer_turns

__all__ = ["make_engine", "migrate", "startup_lock", "unit_of_work"]

_STARTUP_LOCK_KEY = 0x6B79736F  # "kyso"


def make_engine(url: str) -> Engine:
    """An engine that never shows bound parameters (personal data, sealed keys) in its errors or
    logs; SQLite gets WAL, a busy timeout and explicit BEGIN (so savepoints work)."""
    if not url.startswith("sqlite"):
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
        )
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back otherwise.

    An error that carries ``commits_work = True`` (a counted failure: a wrong password or PIN)
    is committed before it propagates, so its bookkeeping is not lost with the request.
    On SQLite the transaction starts with ``BEGIN IMMEDIATE``: writers queue at the start
    instead of failing when a read turns into a write, and take their turns promptly
    (:mod:`api.sqlite_writers`).
    """
    turns = writer_turns(engine.url.database) if engine.dialect.name == "sqlite" else None
    with (
        turns.turn() if turns is not None else nullcontext(),
        Session(engine, expire_on_commit=False) as session,
    ):
        if engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            yield session
        except BaseException as exc:
            if getattr(exc, "commits_work", False):
                session.commit()
            else:
                session.rollback()
            raise
        session.commit()


@contextmanager
def startup_lock(engine: Engine, data_dir: Path) -> Iterator[None]:
    """Serialise migrations and the key ceremony across processes sharing one database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _STARTUP_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _STARTUP_LOCK_KEY})
                connection.commit()
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".startup.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
