"""Revocation with RFC 5280 reasons, and the status source the OCSP responder reads."""

from __future__ import annotations

import contextlib
import enum
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, PoolProxiedConnection, bindparam, select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from certs.errors import (
    AlreadyRevoked,
    CertificateNotFound,
    InvalidSerial,
    UnknownRevocationReason,
)
from certs.models import IssuedCertificate, serial_hex
from certs.wal_index import WalIndexStamp, wal_index_stamp

__all__ = [
    "CertificateStatus",
    "DatabaseRevocationSource",
    "KeptConnectionRevocationSource",
    "RevocationReason",
    "RevocationSource",
    "Status",
    "parse_serial",
    "revoke",
]


class RevocationReason(enum.StrEnum):
    """CRLReason (RFC 5280 5.3.1), by its RFC names. removeFromCRL only exists in delta CRLs."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    CERTIFICATE_HOLD = "certificateHold"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"
    AA_COMPROMISE = "aACompromise"

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        """Accept the RFC name in any case, with or without separators (key-compromise …)."""
        wanted = re.sub(r"[\s_-]", "", text).lower()
        for reason in cls:
            if reason.value.lower() == wanted:
                return reason
        names = ", ".join(r.value for r in cls)
        raise UnknownRevocationReason(
            f"unknown revocation reason {text!r}; use one of: {names}", reason=text
        )

    @property
    def asn1_name(self) -> str:
        """asn1crypto's name of the reason (snake case)."""
        return {
            "cACompromise": "ca_compromise",
            "aACompromise": "aa_compromise",
        }.get(self.value, re.sub(r"(?<!^)([A-Z])", r"_\1", self.value).lower())


def parse_serial(text: str) -> int:
    """A serial written in hex, with or without ``0x``, colons or spaces."""
    cleaned = re.sub(r"[\s:]", "", text.strip())
    cleaned = cleaned[2:] if cleaned.lower().startswith("0x") else cleaned
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise InvalidSerial(f"{text!r} is not a hexadecimal serial number") from None
    return value


def revoke(
    session: Session, serial: int, reason: RevocationReason, now: datetime
) -> IssuedCertificate:
    """Mark an issued certificate revoked. The caller republishes the CRL in the same unit."""
    record = session.get(IssuedCertificate, serial_hex(serial), with_for_update=True)
    if record is None:
        raise CertificateNotFound(
            f"no certificate with serial {serial_hex(serial)} was issued here",
            serial=serial_hex(serial),
        )
    if record.revoked_at is not None:
        raise AlreadyRevoked(
            f"certificate {record.serial} was revoked at {record.revoked_at.isoformat()}",
            serial=record.serial,
        )
    record.revoked_at = now
    record.revocation_reason = reason.value
    session.add(record)
    session.flush()
    return record


class Status(enum.StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CertificateStatus:
    """What the CA knows about one serial number."""

    status: Status
    revoked_at: datetime | None = None
    reason: RevocationReason | None = None


class RevocationSource(Protocol):
    """Where the OCSP responder learns a certificate's status."""

    def status(self, serial: int) -> CertificateStatus:
        """The status of the certificate with that serial, issued by the issuing CA."""
        ...

    def version(self) -> bytes | None:
        """The committed state the statuses come from: two equal values mean the same
        statuses; None when the source cannot tell (then nothing read may be reused)."""
        ...


def _status_of(revoked_at: datetime | None, reason: str | None) -> CertificateStatus:
    if revoked_at is None:
        return CertificateStatus(Status.GOOD)
    return CertificateStatus(
        Status.REVOKED,
        revoked_at=revoked_at,
        reason=RevocationReason(reason or "unspecified"),
    )


class DatabaseRevocationSource:
    """Reads the issuing CA's records: unknown serials are ``unknown``, never ``good``."""

    def __init__(self, session: Session, issuer: str = "issuing") -> None:
        self._session = session
        self._issuer = issuer

    def status(self, serial: int) -> CertificateStatus:
        """Three columns, not the record (its certificate included) loaded as an object: read
        in every signing request twice. A record the session holds is read as it is there, as
        ``session.get`` did."""
        key = serial_hex(serial)
        record: Any = self._session.identity_map.get(identity_key(IssuedCertificate, key))
        if record is None:
            record = self._session.execute(_STATUS, {"serial": key}).first()
        if record is None or record.issuer != self._issuer:
            return CertificateStatus(Status.UNKNOWN)
        return _status_of(record.revoked_at, record.revocation_reason)

    def version(self) -> bytes | None:
        """A session's reads are not followed: every status is read anew."""
        return None


_MAX_KEPT_STATUSES = 10_000
_TABLE = IssuedCertificate.__table__  # type: ignore[attr-defined]
_STATUS = select(_TABLE.c.issuer, _TABLE.c.revoked_at, _TABLE.c.revocation_reason).where(
    _TABLE.c.serial == bindparam("serial")
)
_STATUS_SQL = "SELECT issuer, revoked_at, revocation_reason FROM issued_certificate WHERE serial = "
_STATUS_SQL_BY_PARAMSTYLE = {
    "qmark": _STATUS_SQL + "?",
    "format": _STATUS_SQL + "%s",
    "pyformat": _STATUS_SQL + "%s",
}


class KeptConnectionRevocationSource:
    """The answers of :class:`DatabaseRevocationSource`, read over one connection kept open.

    For the OCSP responder, whose every answer is one status read: no ORM session, no pool
    checkout, no statement compilation. The connection is in autocommit, so every read sees what
    is committed at that moment (a revocation counts at once). A failed read drops the
    connection and is tried once more on a new one. One thread at a time (a lock).

    On a SQLite database in WAL mode, the statuses read are also kept until anything is
    committed to the database, by any process (:class:`certs.wal_index.WalIndexStamp`: a
    memory read tells), and for a second at most; :meth:`version` names that state for the
    responder's own reuse of answers. A revocation still counts at once: its commit is a
    change. Elsewhere (PostgreSQL), every status is read anew and :meth:`version` is None.
    """

    def __init__(self, engine: Engine, issuer: str = "issuing") -> None:
        sql = _STATUS_SQL_BY_PARAMSTYLE.get(engine.dialect.paramstyle)
        if sql is None:
            raise ValueError(f"no placeholder known for paramstyle {engine.dialect.paramstyle}")
        self._sql = sql
        self._engine = engine
        self._issuer = issuer
        column_type = _TABLE.c.revoked_at.type.dialect_impl(engine.dialect)
        self._revoked_at = column_type.result_processor(engine.dialect, None)
        self._connection: PoolProxiedConnection | None = None
        self._lock = threading.Lock()
        self._wal: WalIndexStamp | None = None
        self._kept: dict[int, CertificateStatus] = {}
        self._kept_at: bytes | None = None

    def _open(self) -> PoolProxiedConnection:
        if self._connection is None:
            connection = self._engine.raw_connection()
            try:
                if self._engine.dialect.name != "sqlite":
                    connection.driver_connection.autocommit = True  # type: ignore[union-attr]
                self._wal = self._watch_commits(connection)
            except Exception:
                connection.invalidate()
                raise
            self._connection = connection
        return self._connection

    def _read(self, serial: str) -> tuple[Any, ...] | None:
        cursor = self._open().cursor()
        try:
            cursor.execute(self._sql, (serial,))
            row: tuple[Any, ...] | None = cursor.fetchone()
        finally:
            cursor.close()
        return row

    def _watch_commits(self, connection: PoolProxiedConnection) -> WalIndexStamp | None:
        """The wal-index stamp of the SQLite file ``connection`` reads, when in WAL mode (after
        a read of the connection's: its ``-shm`` file exists and lives while it is open)."""
        database = self._engine.url.database
        if self._engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM sqlite_master")  # a read: the -shm is mapped
            cursor.fetchone()
        finally:
            cursor.close()
        if mode is None or str(mode[0]).lower() != "wal":
            return None
        return wal_index_stamp(Path(database))

    def version(self) -> bytes | None:
        """The committed state statuses are read from (equal values: nothing committed in
        between), and the second it is (what is kept is read again at least once a second,
        whatever the stamp says); None when this source cannot tell."""
        wal = self._wal
        if wal is None or self._connection is None:  # read only while the connection is open
            return None
        return wal.stamp() + int(time.monotonic()).to_bytes(8, "big")

    def status(self, serial: int) -> CertificateStatus:
        with self._lock:
            try:
                self._open()
            except Exception:
                self.close()
                self._open()
            stamp = self.version()  # before the read: a commit after it is a change next time
            if stamp is not None:
                if stamp == self._kept_at:
                    kept = self._kept.get(serial)
                    if kept is not None:
                        return kept
                else:
                    self._kept.clear()
                    self._kept_at = stamp
            try:
                row = self._read(serial_hex(serial))
            except Exception:
                self.close()
                row = self._read(serial_hex(serial))
            if row is None or row[0] != self._issuer:
                found = CertificateStatus(Status.UNKNOWN)
            else:
                revoked_at = self._revoked_at(row[1]) if self._revoked_at else row[1]
                found = _status_of(revoked_at, row[2])
            if stamp is not None and stamp == self._kept_at:
                if len(self._kept) >= _MAX_KEPT_STATUSES:
                    self._kept.clear()
                self._kept[serial] = found
            return found

    def close(self) -> None:
        """Let the connection go (it is invalidated: it may be broken), and what was kept."""
        self._wal = None  # let go, never closed (certs.wal_index: closing drops SQLite's locks)
        self._kept.clear()
        self._kept_at = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                connection.invalidate()
