"""The OCSP responder's status reads over one kept connection, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
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
        session.commit()
    kept = KeptConnectionRevocationSource(engine)
    try:
        assert kept.status(0x20).status is Status.GOOD
        assert kept._connection is not None
        kept._connection.driver_connection.close()  # type: ignore[union-attr]
        assert kept.status(0x20).status is Status.GOOD
    finally:
        kept.close()
