"""Revocation with RFC 5280 reasons, and the status source the OCSP responder reads."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from certs.errors import (
    AlreadyRevoked,
    CertificateNotFound,
    InvalidSerial,
    UnknownRevocationReason,
)
from certs.models import IssuedCertificate, serial_hex

__all__ = [
    "CertificateStatus",
    "DatabaseRevocationSource",
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


class DatabaseRevocationSource:
    """Reads the issuing CA's records: unknown serials are ``unknown``, never ``good``."""

    def __init__(self, session: Session, issuer: str = "issuing") -> None:
        self._session = session
        self._issuer = issuer

    def status(self, serial: int) -> CertificateStatus:
        record = self._session.get(IssuedCertificate, serial_hex(serial))
        if record is None or record.issuer != self._issuer:
            return CertificateStatus(Status.UNKNOWN)
        if record.revoked_at is None:
            return CertificateStatus(Status.GOOD)
        return CertificateStatus(
            Status.REVOKED,
            revoked_at=record.revoked_at,
            reason=RevocationReason(record.revocation_reason or "unspecified"),
        )
