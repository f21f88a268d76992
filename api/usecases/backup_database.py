"""The database's part of a backup: one consistent snapshot out, and back into an empty database.

SQLite: the online backup API copies the database in one step under one read transaction (in
WAL mode writers go on meanwhile); the facts are read from the copy. PostgreSQL: a REPEATABLE
READ transaction exports its snapshot, the facts are read in it, and ``pg_dump --snapshot``
dumps exactly what that transaction sees while the service keeps writing. Back in:
``pg_restore --single-transaction`` (all or nothing) into an empty database, or the SQLite
file put in place.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, make_url, text
from sqlmodel import Session

from api.settings import Settings
from api.usecases.backup_errors import DatabaseToolError
from api.usecases.backup_facts import (
    DescriptiveFacts,
    LedgerFacts,
    descriptive_facts,
    ledger_facts,
)

__all__ = [
    "DatabaseSnapshot",
    "database_is_empty",
    "drop_everything",
    "restore_postgresql",
    "snapshot_database",
    "sqlite_path",
    "unpack_sqlite",
]

SQLITE_PART = "database/kyso.db.gz"
POSTGRESQL_PART = "database/kyso.pgdump"
_TOOL_TIMEOUT = 6 * 3600


@dataclass(frozen=True)
class DatabaseSnapshot:
    """The database as one transaction saw it, as a file to archive, and what it holds."""

    backend: str
    part_name: str
    path: Path
    taken_at: datetime
    server_version: str
    tool: str
    ledger: LedgerFacts
    described: DescriptiveFacts


def snapshot_database(
    settings: Settings, engine: Engine, workdir: Path, now: Callable[[], datetime]
) -> DatabaseSnapshot:
    if engine.dialect.name == "sqlite":
        return _snapshot_sqlite(settings, workdir, now)
    return _snapshot_postgresql(engine, workdir, now)


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.sqlalchemy_url).database
    if not database:
        raise DatabaseToolError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _snapshot_sqlite(
    settings: Settings, workdir: Path, now: Callable[[], datetime]
) -> DatabaseSnapshot:
    copy = workdir / "kyso.db"
    source = sqlite3.connect(sqlite_path(settings), timeout=30)
    target = sqlite3.connect(copy)
    try:
        taken_at = now()
        source.backup(target)  # every page in one step: one read transaction, one snapshot
    finally:
        target.close()
        source.close()
    reader = create_engine(f"sqlite:///{copy}")
    try:
        with reader.connect() as connection:
            ledger = ledger_facts(connection)
            with Session(bind=connection) as session:
                described = descriptive_facts(session)
    finally:
        reader.dispose()
    packed = workdir / "kyso.db.gz"
    with copy.open("rb") as raw, gzip.open(packed, "wb", compresslevel=6) as out:
        shutil.copyfileobj(raw, out, 1 << 20)
    copy.unlink()
    return DatabaseSnapshot(
        backend="sqlite",
        part_name=SQLITE_PART,
        path=packed,
        taken_at=taken_at,
        server_version=f"SQLite {sqlite3.sqlite_version}",
        tool="SQLite online backup API",
        ledger=ledger,
        described=described,
    )


def unpack_sqlite(packed: Path, target: Path) -> None:
    """The backed-up SQLite file, unpacked to ``target`` (mode 0600)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, gzip.open(packed, "rb") as raw:
        shutil.copyfileobj(raw, out, 1 << 20)


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI for pg_dump/pg_restore, its password in the environment
    (never on a command line others can read)."""
    url = engine.url
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _tool(name: str) -> tuple[str, int, str]:
    path = shutil.which(name)
    if path is None:
        raise DatabaseToolError(
            f"{name} is not installed: PostgreSQL backups need the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client)"
        )
    printed = subprocess.run(
        [path, "--version"], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    found = re.search(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?", printed)
    if found is None:
        raise DatabaseToolError(f"cannot tell {name}'s version from {printed.strip()!r}")
    return path, int(found.group(1)), f"{name} {found.group(1)}.{found.group(2) or 0}"


def _failed(name: str, result: subprocess.CompletedProcess[str]) -> DatabaseToolError:
    lines = [line for line in result.stderr.splitlines() if line.strip()][:5]
    return DatabaseToolError(f"{name} failed (exit {result.returncode}): {' / '.join(lines)}")


def _snapshot_postgresql(
    engine: Engine, workdir: Path, now: Callable[[], datetime]
) -> DatabaseSnapshot:
    pg_dump, client_major, tool = _tool("pg_dump")
    dump = workdir / "kyso.pgdump"
    uri, env = _libpq(engine)
    with engine.connect() as connection:
        server = int(connection.execute(text("SHOW server_version_num")).scalar_one())
        server_text = str(connection.execute(text("SHOW server_version")).scalar_one())
        if client_major < server // 10000:
            raise DatabaseToolError(
                f"{tool} cannot dump a PostgreSQL {server // 10000} server: install the client "
                f"tools of version {server // 10000} (Debian: postgresql-client-{server // 10000})"
            )
        connection.commit()
        reading = connection.execution_options(isolation_level="REPEATABLE READ")
        with reading.begin():
            snapshot = str(reading.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            taken_at = now()
            ledger = ledger_facts(reading)
            with Session(bind=reading) as session:
                described = descriptive_facts(session)
            result = subprocess.run(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", f"--file={dump}", f"--dbname={uri}"],
                env=env, capture_output=True, text=True, check=False, timeout=_TOOL_TIMEOUT,
            )  # fmt: skip
    if result.returncode != 0:
        raise _failed("pg_dump", result)
    os.chmod(dump, 0o600)
    return DatabaseSnapshot(
        backend="postgresql",
        part_name=POSTGRESQL_PART,
        path=dump,
        taken_at=taken_at,
        server_version=f"PostgreSQL {server_text.split()[0]}",
        tool=tool,
        ledger=ledger,
        described=described,
    )


def restore_postgresql(engine: Engine, dump: Path, *, dumped_by: str) -> None:
    """Load a dump into the (empty) database in one transaction: all of it, or nothing."""
    pg_restore, major, tool = _tool("pg_restore")
    found = re.search(r"(\d+)", dumped_by)
    if found and major < int(found.group(1)):
        raise DatabaseToolError(
            f"this backup was dumped by {dumped_by}; {tool} cannot read it: install the client "
            f"tools of version {found.group(1)} or newer"
        )
    uri, env = _libpq(engine)
    result = subprocess.run(
        [pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         f"--dbname={uri}", str(dump)],
        env=env, capture_output=True, text=True, check=False, timeout=_TOOL_TIMEOUT,
    )  # fmt: skip
    if result.returncode != 0:
        raise _failed("pg_restore", result)


def database_is_empty(settings: Settings, engine: Engine) -> tuple[bool, str]:
    """Whether the target database holds nothing, and where it is (for messages)."""
    if engine.dialect.name == "sqlite":
        path = sqlite_path(settings)
        return (not path.exists() or path.stat().st_size == 0), f"the SQLite file {path}"
    tables = inspect(engine).get_table_names()
    where = f"the PostgreSQL database {engine.url.database}"
    return not tables, f"{where} ({len(tables)} tables)" if tables else where


def drop_everything(engine: Engine) -> None:
    """Empty a PostgreSQL database a refused restore wrote into (it was empty before)."""
    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        for sequence in inspector.get_sequence_names():
            connection.execute(text(f'DROP SEQUENCE IF EXISTS "{sequence}" CASCADE'))
