"""The CA hierarchy as one object: certificates from the database, keys from the key store."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from sqlmodel import Session, col, select

from certs.errors import CertsError
from certs.keys import SigningKey
from certs.keystore import KeyStore
from certs.models import CaCertificate

__all__ = ["ROLES", "Authority", "load_authority"]

ROLES = ("root", "issuing", "ocsp", "tsa")


@dataclass(frozen=True)
class Authority:
    """The service's own certificates and handles on the keys that sign with them.

    The root key is not held: only :meth:`root_key` opens it, for the rare root CRL.
    """

    root: x509.Certificate
    """Self-signed trust anchor."""
    issuing: x509.Certificate
    """Signs end-entity certificates and the issuing CRL."""
    ocsp: x509.Certificate
    """Delegated OCSP responder certificate."""
    tsa: x509.Certificate
    """Time-stamping unit certificate."""
    issuing_key: SigningKey
    ocsp_key: SigningKey
    tsa_key: SigningKey
    root_key_id: str
    keystore: KeyStore

    def root_key(self) -> SigningKey:
        return self.keystore.load(self.root_key_id)


def current_ca_certificates(session: Session) -> dict[str, CaCertificate]:
    """The newest certificate per role; empty before the hierarchy exists."""
    rows = session.exec(select(CaCertificate).order_by(col(CaCertificate.id))).all()
    return {row.role: row for row in rows}


def load_authority(session: Session, keystore: KeyStore) -> Authority:
    """The hierarchy made at first start. ``CertsError`` when it does not exist yet."""
    rows = current_ca_certificates(session)
    missing = [role for role in ROLES if role not in rows]
    if missing:
        raise CertsError(f"the CA hierarchy is not initialised (missing: {', '.join(missing)})")
    certs = {role: x509.load_der_x509_certificate(rows[role].certificate) for role in ROLES}
    return Authority(
        root=certs["root"],
        issuing=certs["issuing"],
        ocsp=certs["ocsp"],
        tsa=certs["tsa"],
        issuing_key=keystore.load(rows["issuing"].key_id),
        ocsp_key=keystore.load(rows["ocsp"].key_id),
        tsa_key=keystore.load(rows["tsa"].key_id),
        root_key_id=rows["root"].key_id,
        keystore=keystore,
    )
