"""The key ceremony: root, issuing CA, OCSP signer and TSA, created once at first start."""

from __future__ import annotations

import secrets
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, col, select

from certs.authority import current_ca_certificates
from certs.crl import CrlPolicy, publish_crl
from certs.issuance import record_issued
from certs.keys import KeyAlgorithm, SignatureScheme, SigningKey
from certs.keystore import KeyStore
from certs.models import CaCertificate, CaKeyRequest, serial_hex
from certs.profiles import (
    PkiUrls,
    issuing_ca_profile,
    ocsp_signer_profile,
    root_ca_profile,
    tsa_profile,
)
from certs.x509sign import sign_certificate

__all__ = [
    "complete_under_issuing",
    "ensure_hierarchy",
    "keep_ca_certificate",
    "pending_request",
]


def keep_ca_certificate(
    session: Session, role: str, key_id: str, certificate: x509.Certificate, now: datetime
) -> None:
    session.add(
        CaCertificate(
            role=role,
            key_id=key_id,
            serial=serial_hex(certificate.serial_number),
            certificate=certificate.public_bytes(serialization.Encoding.DER),
            not_after=certificate.not_valid_after_utc,
            created_at=now,
        )
    )


def pending_request(session: Session, role: str) -> CaKeyRequest | None:
    """The request for ``role``'s certificate still waiting for its import, if any."""
    return session.exec(
        select(CaKeyRequest)
        .where(CaKeyRequest.role == role)
        .where(col(CaKeyRequest.completed_at).is_(None))
        .order_by(col(CaKeyRequest.id).desc())
    ).first()


def ensure_hierarchy(
    session: Session,
    keystore: KeyStore,
    *,
    algorithm: KeyAlgorithm,
    urls: PkiUrls,
    now: datetime,
    crl_policy: CrlPolicy,
    rsa_pss: bool = False,
) -> bool:
    """Create the hierarchy unless it exists; True when it was created now.

    The caller holds the start-up lock, so two processes never both create one.
    """
    if current_ca_certificates(session) or pending_request(session, "issuing") is not None:
        return False
    suffix = secrets.token_hex(4)
    keys = {
        role: keystore.generate(f"{role}-{suffix}", algorithm)
        for role in ("root", "issuing", "ocsp", "tsa")
    }
    scheme = SignatureScheme.for_key(algorithm, rsa_pss=rsa_pss)
    keys = {role: key.with_scheme(scheme) for role, key in keys.items()}
    root = sign_certificate(root_ca_profile(keys["root"].public_key(), now), keys["root"])  # type: ignore[arg-type]
    issuing = sign_certificate(
        issuing_ca_profile(keys["issuing"].public_key(), root.public_key(), urls, now),  # type: ignore[arg-type]
        keys["root"],
    )
    keep_ca_certificate(session, "root", keys["root"].key_id, root, now)
    record_issued(session, issuing, issuer="root", profile="issuing-ca", now=now)
    publish_crl(
        session,
        issuer="root",
        issuer_certificate=root,
        issuer_key=keys["root"],
        now=now,
        policy=crl_policy,
    )
    complete_under_issuing(
        session,
        issuing=issuing,
        issuing_key=keys["issuing"],
        ocsp_key=keys["ocsp"],
        tsa_key=keys["tsa"],
        urls=urls,
        now=now,
        crl_policy=crl_policy,
    )
    return True


def complete_under_issuing(
    session: Session,
    *,
    issuing: x509.Certificate,
    issuing_key: SigningKey,
    ocsp_key: SigningKey,
    tsa_key: SigningKey,
    urls: PkiUrls,
    now: datetime,
    crl_policy: CrlPolicy,
) -> None:
    """What the issuing CA makes once it is certified (by our root or a national one): the
    OCSP responder's and the TSA's certificates, and its first CRL."""
    ocsp = sign_certificate(
        ocsp_signer_profile(ocsp_key.public_key(), issuing, now),  # type: ignore[arg-type]
        issuing_key,
    )
    tsa = sign_certificate(
        tsa_profile(tsa_key.public_key(), issuing, urls, now),  # type: ignore[arg-type]
        issuing_key,
    )
    for role, key_id, certificate in (
        ("issuing", issuing_key.key_id, issuing),
        ("ocsp", ocsp_key.key_id, ocsp),
        ("tsa", tsa_key.key_id, tsa),
    ):
        keep_ca_certificate(session, role, key_id, certificate, now)
    record_issued(session, ocsp, issuer="issuing", profile="ocsp-signer", now=now)
    record_issued(session, tsa, issuer="issuing", profile="tsa", now=now)
    for issuer, certificate, key in (("issuing", issuing, issuing_key),):
        publish_crl(
            session,
            issuer=issuer,
            issuer_certificate=certificate,
            issuer_key=key,
            now=now,
            policy=crl_policy,
        )
    session.flush()
