"""Trust anchors for verification: our root always, and the roots administrators add."""

from __future__ import annotations

import hashlib
from datetime import datetime

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from sqlmodel import Session, col, select

from signing.errors import NotATrustAnchor, TrustAnchorNotFound
from signing.models import TrustAnchor

__all__ = [
    "add_anchor",
    "anchor_certificates",
    "list_anchors",
    "load_certificates",
    "remove_anchor",
]


def load_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    """Certificates from PEM (one or several) or DER; ``NotATrustAnchor`` when there is none."""
    try:
        if pem.detect(data):
            return [
                asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)
            ]
        return [asn1_x509.Certificate.load(data)]
    except (ValueError, TypeError) as exc:
        raise NotATrustAnchor(f"not a certificate (PEM or DER): {str(exc)[:120]}") from None


def add_anchor(session: Session, data: bytes, *, actor: str, now: datetime) -> TrustAnchor:
    """Trust a CA certificate from now on (adding it twice changes nothing)."""
    (cert,) = load_certificates(data)[:1]
    try:
        constraints = cert.basic_constraints_value  # asn1crypto's .ca also says yes to a
        is_ca = constraints is not None and bool(constraints["ca"].native)  # self-signed v1
        not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    except (ValueError, KeyError) as exc:
        raise NotATrustAnchor(f"the certificate cannot be read: {str(exc)[:120]}") from None
    if not is_ca:
        raise NotATrustAnchor("this is not a CA certificate (basicConstraints cA is not set)")
    digest = hashlib.sha256(cert.dump()).hexdigest()
    existing = session.get(TrustAnchor, digest)
    if existing is not None:
        return existing
    anchor = TrustAnchor(
        sha256=digest,
        subject=cert.subject.human_friendly[:500],
        der=cert.dump(),
        not_after=not_after,
        added_at=now,
        added_by=actor,
    )
    session.add(anchor)
    session.flush()
    return anchor


def remove_anchor(session: Session, sha256: str) -> TrustAnchor:
    anchor = session.get(TrustAnchor, sha256.lower().replace(":", ""))
    if anchor is None:
        raise TrustAnchorNotFound("no trust anchor with this SHA-256 fingerprint", sha256=sha256)
    session.delete(anchor)
    session.flush()
    return anchor


def list_anchors(session: Session) -> list[TrustAnchor]:
    return list(session.exec(select(TrustAnchor).order_by(col(TrustAnchor.subject))))


def anchor_certificates(session: Session) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(a.der) for a in list_anchors(session)]
