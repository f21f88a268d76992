"""The key ceremony: root, issuing CA, OCSP signer and TSA, created once at first start."""

from __future__ import annotations

import secrets
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from certs.authority import current_ca_certificates
from certs.crl import CrlPolicy, publish_crl
from certs.issuance import record_issued
from certs.keys import KeyAlgorithm, SigningKey
from certs.keystore import KeyStore
from certs.models import CaCertificate, serial_hex
from certs.profiles import (
    PkiUrls,
    issuing_ca_profile,
    ocsp_signer_profile,
    root_ca_profile,
    tsa_profile,
)
from certs.x509sign import sign_certificate

__all__ = ["ensure_hierarchy"]


def _keep(
    session: Session, role: str, key: SigningKey, certificate: x509.Certificate, now: datetime
) -> None:
    session.add(
        CaCertificate(
            role=role,
            key_id=key.key_id,
            serial=serial_hex(certificate.serial_number),
            certificate=certificate.public_bytes(serialization.Encoding.DER),
            not_after=certificate.not_valid_after_utc,
            created_at=now,
        )
    )


def ensure_hierarchy(
    session: Session,
    keystore: KeyStore,
    *,
    algorithm: KeyAlgorithm,
    urls: PkiUrls,
    now: datetime,
    crl_policy: CrlPolicy,
) -> bool:
    """Create the hierarchy unless it exists; True when it was created now.

    The caller holds the start-up lock, so two processes never both create one.
    """
    if current_ca_certificates(session):
        return False
    suffix = secrets.token_hex(4)
    keys = {
        role: keystore.generate(f"{role}-{suffix}", algorithm)
        for role in ("root", "issuing", "ocsp", "tsa")
    }
    root = sign_certificate(root_ca_profile(keys["root"].public_key(), now), keys["root"])  # type: ignore[arg-type]
    issuing = sign_certificate(
        issuing_ca_profile(keys["issuing"].public_key(), root.public_key(), urls, now),  # type: ignore[arg-type]
        keys["root"],
    )
    ocsp = sign_certificate(
        ocsp_signer_profile(keys["ocsp"].public_key(), issuing.public_key(), now),  # type: ignore[arg-type]
        keys["issuing"],
    )
    tsa = sign_certificate(
        tsa_profile(keys["tsa"].public_key(), issuing.public_key(), urls, now),  # type: ignore[arg-type]
        keys["issuing"],
    )
    for role, certificate in (("root", root), ("issuing", issuing), ("ocsp", ocsp), ("tsa", tsa)):
        _keep(session, role, keys[role], certificate, now)
    record_issued(session, issuing, issuer="root", profile="issuing-ca", now=now)
    record_issued(session, ocsp, issuer="issuing", profile="ocsp-signer", now=now)
    record_issued(session, tsa, issuer="issuing", profile="tsa", now=now)
    for issuer, certificate, key in (
        ("root", root, keys["root"]),
        ("issuing", issuing, keys["issuing"]),
    ):
        publish_crl(
            session,
            issuer=issuer,
            issuer_certificate=certificate,
            issuer_key=key,
            now=now,
            policy=crl_policy,
        )
    session.flush()
    return True
