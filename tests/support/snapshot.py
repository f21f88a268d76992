"""Read back everything a kyso installation keeps: database rows and data-directory files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from api.settings import Settings


def database_rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, by table name."""
    engine = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: sorted(tuple(row) for row in connection.execute(select(table)))
                for name, table in sorted(metadata.tables.items())
            }
    finally:
        engine.dispose()


_VOLATILE = {"kyso.db-wal", "kyso.db-shm", ".startup.lock"}


def file_digests(directory: Path) -> dict[str, str]:
    """SHA-256 of every file below ``directory`` (SQLite's WAL side files left out)."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name not in _VOLATILE
    }


def all_stored_bytes(database_url: str, directory: Path) -> list[bytes]:
    """Every value in the database and every file's content, as bytes, for leak scans."""
    stored = [path.read_bytes() for path in directory.rglob("*") if path.is_file()]
    for rows in database_rows(database_url).values():
        for row in rows:
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    stored.append(bytes(value))
                elif value is not None:
                    stored.append(str(value).encode())
    return stored


def table_records(database_url: str, table: str) -> list[dict[str, Any]]:
    """The rows of one table as dictionaries, by column name."""
    engine = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine, only=[table])
        with engine.connect() as connection:
            return [
                dict(row._mapping) for row in connection.execute(select(metadata.tables[table]))
            ]
    finally:
        engine.dispose()
