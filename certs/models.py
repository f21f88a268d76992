"""Tables of the certificate authority."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, LargeBinary, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "CaCertificate",
    "CaKeyRequest",
    "IssuedCertificate",
    "RevocationList",
    "UtcDateTime",
    "serial_hex",
]


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp kept in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A ``UtcDateTime`` column for a SQLModel field."""
    return Column(UtcDateTime(), nullable=nullable, index=index)


def serial_hex(serial: int) -> str:
    """The canonical text of a serial number: lower-case hex, no leading zeros."""
    return format(serial, "x")


class CaCertificate(SQLModel, table=True):
    """A certificate of the service's own hierarchy: root, issuing CA, OCSP signer, TSA."""

    __tablename__ = "ca_certificate"

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(index=True, max_length=16)
    key_id: str = Field(max_length=128)
    serial: str = Field(max_length=48)
    certificate: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    not_after: datetime = Field(sa_column=utc_column())
    created_at: datetime = Field(sa_column=utc_column())


class CaKeyRequest(SQLModel, table=True):
    """A CA key made in the key store whose certificate another CA (a national root) is to
    issue: the request written out, until the certificate is imported."""

    __tablename__ = "ca_key_request"

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(index=True, max_length=16)
    key_id: str = Field(max_length=128)
    csr: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    completed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class IssuedCertificate(SQLModel, table=True):
    """Every certificate the issuing CA (or the root) has signed, with its revocation state."""

    __tablename__ = "issued_certificate"

    serial: str = Field(primary_key=True, max_length=48)
    issuer: str = Field(index=True, max_length=16)
    profile: str = Field(max_length=32)
    subject: str = Field(max_length=512)
    subject_uid: str | None = Field(default=None, index=True, max_length=64)
    certificate: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    not_before: datetime = Field(sa_column=utc_column())
    not_after: datetime = Field(sa_column=utc_column())
    issued_at: datetime = Field(sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revocation_reason: str | None = Field(default=None, max_length=32)


class RevocationList(SQLModel, table=True):
    """A CRL as published: the newest number per issuer is the current one."""

    __tablename__ = "revocation_list"
    __table_args__ = (UniqueConstraint("issuer", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(index=True, max_length=16)
    number: int
    this_update: datetime = Field(sa_column=utc_column())
    next_update: datetime = Field(sa_column=utc_column())
    der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
