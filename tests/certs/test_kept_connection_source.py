"""The OCSP responder's status reads over one kept connection, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel

from api.database import make_engine
from api.settings import Settings
from certs.models import IssuedCertificate
from certs.revocation import (
    CertificateStatus,
    DatabaseRevocationSource,
    KeptConnectionRevocationSource,
    RevocationReason,
    Status,
    revoke,
)
from tests.support.databases import BACKENDS, fresh_database

NOW = datetime(2026, 11, 22, 9, 30, 12, 345_678, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(str(request.param), tmp_path) as url:
        made = make_engine(Settings(data_dir=tmp_path, database_url=url).sqlalchemy_url)
        SQLModel.metadata.create_all(made)
        try:
            yield made
        finally:
            made.dispose()


def _record(serial: int, issuer: str = "issuing") -> IssuedCertificate:
    return IssuedCertificate(
        serial=format(serial, "x"),
        issuer=issuer,
        profile="signing",
        subject="CN=Test",
        certificate=b"\x30\x00",
        not_before=NOW,
        not_after=NOW,
        issued_at=NOW,
    )


def test_answers_as_the_orm_source_and_sees_each_commit_at_once(engine: Engine) -> None:
    kept = KeptConnectionRevocationSource(engine)
    try:
        assert kept.status(0x10) == CertificateStatus(Status.UNKNOWN)
        with Session(engine) as session:
            session.add(_record(0x10))
            session.add(_record(0x11, issuer="root"))
            session.commit()
        assert kept.status(0x10) == CertificateStatus(Status.GOOD)
        assert kept.status(0x11) == CertificateStatus(Status.UNKNOWN)  # another issuer's
        assert kept.status(-0x10) == CertificateStatus(Status.UNKNOWN)
        with Session(engine) as session:
            revoke(session, 0x10, RevocationReason.KEY_COMPROMISE, NOW)
            session.commit()
        revoked = kept.status(0x10)
        assert revoked == CertificateStatus(
            Status.REVOKED, revoked_at=NOW, reason=RevocationReason.KEY_COMPROMISE
        )
        assert revoked.revoked_at is not None
        assert revoked.revoked_at.tzinfo is not None
        with Session(engine) as session:
            assert DatabaseRevocationSource(session).status(0x10) == revoked
    finally:
        kept.close()


def test_a_broken_connection_is_replaced(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(_record(0x20))
        session.add(_record(0x21))
        session.commit()
    kept = KeptConnectionRevocationSource(engine)
    try:
        assert kept.status(0x20).status is Status.GOOD
        assert kept._connection is not None
        kept._connection.driver_connection.close()  # type: ignore[union-attr]
        assert kept.status(0x21).status is Status.GOOD  # not kept: read, on a new connection
    finally:
        kept.close()


def _counting_status_reads(engine: Engine) -> list[str]:
    """The status reads of connections checked out from now on (SQLite's trace callback)."""
    reads: list[str] = []

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: reads.append(sql) if "FROM issued_certificate" in sql else None
        )

    event.listen(engine, "checkout", on_checkout)
    return reads


def _revoke_from_another_process(database: str, serial: int) -> None:
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute(\"UPDATE issued_certificate SET revoked_at = '2026-11-22 09:30:12.345678', "
        "revocation_reason = 'keyCompromise' WHERE serial = ?\", (sys.argv[2],))\n"
        "c.commit()\n"
    )
    subprocess.run([sys.executable, "-c", script, database, format(serial, "x")], check=True)


def test_on_sqlite_a_status_is_read_again_only_after_a_commit(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        engine = make_engine(Settings(data_dir=tmp_path, database_url=url).sqlalchemy_url)
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(_record(0x30))
            session.commit()
        reads = _counting_status_reads(engine)
        kept = KeptConnectionRevocationSource(engine)
        while time.monotonic() % 1 > 0.5:  # early in a second: what is kept lasts to its end
            time.sleep(0.05)
        try:
            assert kept.status(0x30).status is Status.GOOD
            assert kept.version() is not None  # WAL mode: the source can tell
            for _ in range(5):
                assert kept.status(0x30).status is Status.GOOD
            assert len(reads) == 1  # nothing was committed: nothing read again
            database = engine.url.database
            assert database is not None
            _revoke_from_another_process(database, 0x30)  # a commit by another process ...
            revoked = kept.status(0x30)  # ... counts at once
            assert revoked.status is Status.REVOKED
            assert revoked.reason is RevocationReason.KEY_COMPROMISE
            assert len(reads) == 2
            time.sleep(1.1)  # and, commit or not, nothing is kept for more than a second
            assert kept.status(0x30).status is Status.REVOKED
            assert len(reads) == 3
        finally:
            kept.close()
            engine.dispose()


def test_on_postgresql_every_status_is_read(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        engine = make_engine(Settings(data_dir=tmp_path, database_url=url).sqlalchemy_url)
        SQLModel.metadata.create_all(engine)
        kept = KeptConnectionRevocationSource(engine)
        try:
            assert kept.status(0x31).status is Status.UNKNOWN
            assert kept.version() is None  # nothing tells it of a commit: nothing is kept
        finally:
            kept.close()
            engine.dispose()


_DMS_CHECK = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
asked = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 128, 1, 0)
kind, _, _, _, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, asked))
print("free" if kind == fcntl.F_UNLCK else pid)
"""


def _dms_holder(shm: Path) -> str:
    """Who another process finds holding SQLite's "a process is attached" lock on the
    wal-index (byte 128 of the ``-shm`` file): ``free`` or a process id."""
    found = subprocess.run([sys.executable, "-c", _DMS_CHECK, str(shm)], check=True,
                           capture_output=True, text=True)  # fmt: skip
    return found.stdout.strip()


def test_watching_the_wal_index_keeps_sqlites_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it: the
    stamp must never close the ``-shm`` file SQLite locks, or another process could take the
    wal-index for abandoned and rebuild it under this one."""
    database = tmp_path / "kyso.db"
    engine = make_engine(f"sqlite:///{database}")
    SQLModel.metadata.create_all(engine)
    shm = tmp_path / "kyso.db-shm"
    kept = KeptConnectionRevocationSource(engine)
    try:
        assert kept.status(0x40).status is Status.UNKNOWN  # opens, reads, maps the wal-index
        assert kept.version() is not None
        assert _dms_holder(shm) == str(os.getpid())
        kept.close()  # a failed read's recovery: the connection goes, a new one comes
        assert kept.status(0x41).status is Status.UNKNOWN
        assert kept.version() is not None
        assert _dms_holder(shm) == str(os.getpid())
    finally:
        kept.close()
        engine.dispose()
