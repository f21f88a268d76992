"""The signature record: what was signed, by whom, at what level, and where the result is kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from certs.models import utc_column

__all__ = ["KeptReport", "SignatureRecord", "TrustAnchor"]


def _new_id() -> str:
    return str(uuid.uuid4())


class SignatureRecord(SQLModel, table=True):
    """One signature, written in the same transaction as its usage event."""

    __tablename__ = "signature"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: str = Field(default_factory=_new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    credential_id: str = Field(foreign_key="credential.id", max_length=36)
    idempotency_key: str = Field(max_length=128)
    request_sha256: str = Field(max_length=64)
    """Hash of the request (document and options): a reused key with other content is refused."""
    level: str = Field(max_length=8)
    visible: bool = False
    certified: int | None = None
    reason: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    filename: str = Field(max_length=255)
    original_sha256: str = Field(max_length=64)
    signed_sha256: str = Field(max_length=64)
    signed_size: int
    created_at: datetime = Field(sa_column=utc_column(index=True))
    retain_until: datetime = Field(sa_column=utc_column(index=True))
    purged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class TrustAnchor(SQLModel, table=True):
    """A root certificate, besides our own, whose signatures verification may trust (the
    national root CA, other licensed CAs), added by an administrator."""

    __tablename__ = "trust_anchor"

    sha256: str = Field(primary_key=True, max_length=64)
    subject: str = Field(max_length=500)
    der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    not_after: datetime = Field(sa_column=utc_column())
    added_at: datetime = Field(sa_column=utc_column())
    added_by: str = Field(max_length=120)


class KeptReport(SQLModel, table=True):
    """A verification report kept for the person who asked for it, so that a web page can
    show it and its PDF can be downloaded later (deleted by the purge after ``expires_at``)."""

    __tablename__ = "kept_report"

    id: str = Field(default_factory=_new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    batch: str = Field(max_length=36, index=True)
    """Reports of one upload of several files share it."""
    filename: str = Field(max_length=255)
    indication: str = Field(max_length=16)
    report: str = Field(sa_column=Column(Text, nullable=False))
    """The report as JSON, exactly as the API returns it."""
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column(index=True))
