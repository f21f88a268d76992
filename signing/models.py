"""The signature record: what was signed, by whom, at what level, and where the result is kept."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from certs.models import utc_column

__all__ = ["AttemptState", "KeptReport", "SignatureRecord", "SigningAttempt", "TrustAnchor"]


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


class AttemptState(StrEnum):
    """Where a signing attempt is: reserved → signed → charged, or failed / expired."""

    RESERVED = "reserved"
    """Claimed, and its price held; the PIN and the signing come next."""
    SIGNED = "signed"
    """Signed; its record and charge not yet committed (nothing delivered yet)."""
    CHARGED = "charged"
    """Recorded and charged in one transaction: its result is delivered, and replayed."""
    FAILED = "failed"
    """Refused or broken after it was claimed: nothing charged, what it held given back."""
    EXPIRED = "expired"
    """Its worker stopped renewing it (its process died): taken over by a retry."""


IN_FLIGHT = (AttemptState.RESERVED.value, AttemptState.SIGNED.value)


class SigningAttempt(SQLModel, table=True):
    """One signing request, claimed by (user, Idempotency-Key) before any PIN or signing work.

    Its states are the transactions of a signature made visible: a duplicate of the request
    finds it and gets its result (or, while it is in flight, is told to come back) without
    touching the PIN. It carries what it reserved, so that nothing is priced again after
    signing, and its one ``created_at`` dates the signature and its charge.
    """

    __tablename__ = "signing_attempt"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: str = Field(default_factory=_new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", max_length=36)
    account_id: str = Field(index=True, max_length=36)
    """The billing account that pays (the citizen's own, or their organisation's)."""
    idempotency_key: str = Field(max_length=200)
    request_sha256: str = Field(max_length=64)
    """The request's fingerprint: the same key with another request is refused."""
    kind: str = Field(max_length=16)
    """``document`` (a PDF, ``POST /v1/signatures``) or ``hashes`` (CSC ``signHash``)."""
    state: str = Field(max_length=12, index=True)
    units: int = 1
    """Signatures it makes (the hashes of a CSC request)."""
    wallet_amount: int = Field(default=0, sa_type=BigInteger)
    """VND held from the wallet (VAT included), and charged."""
    allowance_units: int = 0
    pack_units: int = 0
    quota_units: int = 0
    """Free units held: of the public-service allowance, a pack, the subscription's quota."""
    lease: str = Field(max_length=32)
    """The worker that owns it: only that worker moves it on."""
    signature_id: str | None = Field(default=None, max_length=36)
    """The signature record, once charged (documents)."""
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """What it delivered when that is not a record (CSC: the signature values, JSON)."""
    failure: str | None = Field(default=None, max_length=64)
    """The code of the refusal that failed it."""
    created_at: datetime = Field(sa_column=utc_column())
    """The attempt's one ``now``: the signature's time and its charge's."""
    updated_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    """In flight until then, unless its worker renews it."""
