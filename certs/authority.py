"""The CA hierarchy as one object: certificates from the database, keys from the key store."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from sqlmodel import Session, col, select

from certs.errors import CertsError
from certs.keys import SignatureScheme, SigningKey
from certs.keystore import KeyStore
from certs.models import CaCertificate

__all__ = ["EXTERNAL_KEY", "ROLES", "Authority", "load_authority"]

ROLES = ("root", "issuing", "ocsp", "tsa")


@dataclass(frozen=True)
class Authority:
    """The service's own certificates and handles on the keys that sign with them.

    The root key is not held: only :meth:`root_key` opens it, for the rare root CRL. Under a
    national root, there is no root key here at all (``root_key_id`` is None).
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
    root_key_id: str | None
    keystore: KeyStore
    scheme: SignatureScheme = SignatureScheme.ECDSA
    """How the CA's keys sign (the RSA scheme chosen in the settings)."""

    @property
    def root_is_ours(self) -> bool:
        """Whether kyso made (and holds the key of) its root, rather than a parent CA."""
        return self.root_key_id is not None

    def root_key(self) -> SigningKey:
        if self.root_key_id is None:
            raise CertsError("the root CA is another authority's: its key is not held here")
        return self.keystore.load(self.root_key_id).with_scheme(self.scheme)


def current_ca_certificates(session: Session) -> dict[str, CaCertificate]:
    """The newest certificate per role; empty before the hierarchy exists."""
    rows = session.exec(select(CaCertificate).order_by(col(CaCertificate.id))).all()
    return {row.role: row for row in rows}


def load_authority(session: Session, keystore: KeyStore, *, rsa_pss: bool = False) -> Authority:
    """The hierarchy made at first start (or imported). ``CertsError`` when there is none."""
    rows = current_ca_certificates(session)
    missing = [role for role in ROLES if role not in rows]
    if missing:
        raise CertsError(f"the CA hierarchy is not initialised (missing: {', '.join(missing)})")
    certs = {role: x509.load_der_x509_certificate(rows[role].certificate) for role in ROLES}
    issuing_key = keystore.load(rows["issuing"].key_id)
    scheme = SignatureScheme.for_key(issuing_key.algorithm, rsa_pss=rsa_pss)

    def own(role: str) -> SigningKey:
        key = issuing_key if role == "issuing" else keystore.load(rows[role].key_id)
        # Time-stamp tokens stay PKCS#1 v1.5: stock `openssl ts -verify` reads them with its
        # PKCS#7 code, which has no RSASSA-PSS (pyHanko would accept either).
        pss = rsa_pss and role != "tsa"
        return key.with_scheme(SignatureScheme.for_key(key.algorithm, rsa_pss=pss))

    root_key_id = rows["root"].key_id
    return Authority(
        root=certs["root"],
        issuing=certs["issuing"],
        ocsp=certs["ocsp"],
        tsa=certs["tsa"],
        issuing_key=own("issuing"),
        ocsp_key=own("ocsp"),
        tsa_key=own("tsa"),
        root_key_id=None if root_key_id == EXTERNAL_KEY else root_key_id,
        keystore=keystore,
        scheme=scheme,
    )


EXTERNAL_KEY = "external"
"""The key id recorded for a root whose key another CA holds (a national root)."""
