"""Certificate revocation lists: regenerated on every revocation and before nextUpdate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from certs.keys import SigningKey
from certs.models import IssuedCertificate, RevocationList
from certs.revocation import RevocationReason
from certs.x509sign import sign_crl

__all__ = ["CrlPolicy", "current_crl", "publish_crl"]


@dataclass(frozen=True)
class CrlPolicy:
    """How long a CRL is valid and when a fresh one replaces it."""

    validity: timedelta = timedelta(days=7)
    """nextUpdate - thisUpdate."""
    refresh_after: timedelta = timedelta(days=1)
    """Age after which a new CRL is published even without a revocation."""


_REASON_FLAGS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}


def _build(
    session: Session,
    issuer: str,
    issuer_certificate: x509.Certificate,
    issuer_key: SigningKey,
    number: int,
    now: datetime,
    policy: CrlPolicy,
) -> bytes:
    revoked = session.exec(
        select(IssuedCertificate)
        .where(IssuedCertificate.issuer == issuer)
        .where(col(IssuedCertificate.revoked_at).is_not(None))
        .order_by(col(IssuedCertificate.serial))
    ).all()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_certificate.subject)
        .last_update(now)
        .next_update(now + policy.validity)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    )
    for record in revoked:
        assert record.revoked_at is not None
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(record.serial, 16))
            .revocation_date(record.revoked_at)
        )
        reason = RevocationReason(record.revocation_reason or "unspecified")
        if reason is not RevocationReason.UNSPECIFIED:  # RFC 5280: omit rather than unspecified
            entry = entry.add_extension(x509.CRLReason(_REASON_FLAGS[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return sign_crl(builder, issuer_key).public_bytes(serialization.Encoding.DER)


def _latest(session: Session, issuer: str) -> RevocationList | None:
    return session.exec(
        select(RevocationList)
        .where(RevocationList.issuer == issuer)
        .order_by(col(RevocationList.number).desc())
        .limit(1)
    ).first()


def publish_crl(
    session: Session,
    *,
    issuer: str,
    issuer_certificate: x509.Certificate,
    issuer_key: SigningKey,
    now: datetime,
    policy: CrlPolicy,
    number_at_least: int = 1,
) -> RevocationList:
    """Sign and keep a new CRL with the next number (or ``number_at_least``, when higher: a
    restored CA skips the numbers its lost copy may have published). Runs inside the caller's
    unit of work."""
    latest = _latest(session, issuer)
    number = max((latest.number + 1) if latest else 1, number_at_least)
    der = _build(session, issuer, issuer_certificate, issuer_key, number, now, policy)
    record = RevocationList(
        issuer=issuer,
        number=number,
        this_update=now,
        next_update=now + policy.validity,
        der=der,
    )
    session.add(record)
    session.flush()
    return record


def current_crl(
    session: Session,
    *,
    issuer: str,
    issuer_certificate: x509.Certificate,
    open_issuer_key: Callable[[], SigningKey],
    now: datetime,
    policy: CrlPolicy,
) -> bytes:
    """The CRL to serve: the latest, or a new one when it is older than the refresh age.

    The issuer's key is opened only when a new CRL is due. When another process publishes the
    same number first, its CRL is served.
    """
    latest = _latest(session, issuer)
    if latest is not None and now - latest.this_update < policy.refresh_after:
        return latest.der
    try:
        with session.begin_nested():
            return publish_crl(
                session,
                issuer=issuer,
                issuer_certificate=issuer_certificate,
                issuer_key=open_issuer_key(),
                now=now,
                policy=policy,
            ).der
    except IntegrityError:
        winner = _latest(session, issuer)
        assert winner is not None
        return winner.der
