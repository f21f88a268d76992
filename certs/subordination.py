"""An issuing CA under someone else's root: the request for it, and the import of its chain.

Under Decree 23/2025/ND-CP a public signing certificate chains to the national root CA: the
provider's issuing CA is certified by that root. kyso makes the issuing key in its key store and
writes a request (:func:`request_issuing_certificate`); the chain the root's operator returns is
installed by :func:`import_issuing_chain` only when it fits the key, the profile and itself.
Until then the instance issues nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlmodel import Session

from certs.authority import EXTERNAL_KEY, current_ca_certificates
from certs.crl import CrlPolicy
from certs.errors import CertsError, InvalidChain
from certs.hierarchy import complete_under_issuing, keep_ca_certificate, pending_request
from certs.keys import KeyAlgorithm, SignatureScheme, SigningKey
from certs.keystore import KeyStore
from certs.models import CaKeyRequest
from certs.profiles import PkiUrls, issuing_ca_request
from certs.x509sign import sign_csr

__all__ = ["ImportedChain", "IssuingRequest", "import_issuing_chain", "request_issuing_certificate"]

_STRONG_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)
_STRONG_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


@dataclass(frozen=True)
class IssuingRequest:
    """The issuing CA's key and the request to send to the parent CA."""

    key_id: str
    csr: x509.CertificateSigningRequest
    created: bool
    """False when a pending request was found and is written out again."""


@dataclass(frozen=True)
class ImportedChain:
    """What the import installed."""

    root: x509.Certificate
    issuing: x509.Certificate
    issuing_key_id: str
    ocsp_key_id: str
    tsa_key_id: str


def request_issuing_certificate(
    session: Session,
    keystore: KeyStore,
    *,
    algorithm: KeyAlgorithm,
    rsa_pss: bool,
    now: datetime,
) -> IssuingRequest:
    """Make the issuing CA's key and its request, or give the pending one again."""
    if current_ca_certificates(session):
        raise CertsError(
            "this installation has its CA hierarchy already: a request for a parent CA is made "
            "before the first start, in a new installation"
        )
    pending = pending_request(session, "issuing")
    if pending is not None:
        return IssuingRequest(pending.key_id, x509.load_der_x509_csr(pending.csr), created=False)
    key = keystore.generate(f"issuing-{secrets.token_hex(4)}", algorithm)
    key = key.with_scheme(SignatureScheme.for_key(algorithm, rsa_pss=rsa_pss))
    csr = sign_csr(issuing_ca_request(), key)
    session.add(
        CaKeyRequest(
            role="issuing",
            key_id=key.key_id,
            csr=csr.public_bytes(serialization.Encoding.DER),
            created_at=now,
        )
    )
    session.flush()
    return IssuingRequest(key.key_id, csr, created=True)


def _load_chain(data: bytes) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise InvalidChain("the file holds no readable PEM or DER certificates") from None


def _spki(certificate_or_key: x509.Certificate | SigningKey) -> bytes:
    return certificate_or_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_algorithms(certificate: x509.Certificate, who: str) -> None:
    """Circular 15/2025: RSA of 2048 bits or more, ECDSA P-256 or stronger, SHA-256 or more."""
    key = certificate.public_key()
    strong_key = (isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048) or (
        isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _STRONG_CURVES)
    )
    if not strong_key:
        raise InvalidChain(f"the {who}'s key is weaker than RSA-2048 or ECDSA P-256")
    if not isinstance(certificate.signature_hash_algorithm, _STRONG_HASHES):
        raise InvalidChain(f"the {who} is signed with a hash weaker than SHA-256")


def _check_ca(certificate: x509.Certificate, who: str, now: datetime) -> None:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise InvalidChain(f"the {who} lacks basicConstraints or keyUsage") from None
    if not (constraints.critical and constraints.value.ca):
        raise InvalidChain(f"the {who} is not a CA certificate (critical basicConstraints CA)")
    if not (usage.key_cert_sign and usage.crl_sign):
        raise InvalidChain(f"the {who}'s keyUsage does not allow keyCertSign and cRLSign")
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        raise InvalidChain(f"the {who} is not valid now")
    _check_algorithms(certificate, who)


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_issuing_chain(
    data: bytes, key: SigningKey, now: datetime
) -> tuple[x509.Certificate, x509.Certificate]:
    """The issuing CA's certificate and its root, from a chain file, after every check."""
    certificates = _load_chain(data)
    ours = _spki(key)
    issuing = [c for c in certificates if _spki(c) == ours]
    if not issuing:
        raise InvalidChain(
            f"no certificate in the chain is for the pending issuing CA key {key.key_id}"
        )
    others = [c for c in certificates if _spki(c) != ours]
    if len(others) != 1:
        raise InvalidChain(
            "the chain must hold the issuing CA's certificate and the root's, nothing else "
            f"(found {len(others)} other certificates; intermediate CAs are not supported)"
        )
    leaf, root = issuing[0], others[0]
    if root.subject != root.issuer or not _signed_by(root, root):
        raise InvalidChain("the root is not self-signed")
    _check_ca(root, "root", now)
    if leaf.issuer != root.subject or not _signed_by(leaf, root):
        raise InvalidChain("the issuing CA's certificate is not signed by the root in the chain")
    _check_ca(leaf, "issuing CA's certificate", now)
    return leaf, root


def import_issuing_chain(
    session: Session,
    keystore: KeyStore,
    data: bytes,
    *,
    urls: PkiUrls,
    now: datetime,
    crl_policy: CrlPolicy,
    rsa_pss: bool,
) -> ImportedChain:
    """Install the chain a parent CA issued for the pending request, then certify the OCSP
    responder and the TSA under it and publish the first CRL."""
    request = pending_request(session, "issuing")
    if request is None:
        raise InvalidChain(
            "no issuing CA request is pending here: run `kyso init --issuing-csr FILE` first"
        )
    key = keystore.load(request.key_id)
    scheme = SignatureScheme.for_key(key.algorithm, rsa_pss=rsa_pss)
    key = key.with_scheme(scheme)
    issuing, root = check_issuing_chain(data, key, now)
    suffix = secrets.token_hex(4)
    ocsp_key = keystore.generate(f"ocsp-{suffix}", key.algorithm).with_scheme(scheme)
    tsa_key = keystore.generate(f"tsa-{suffix}", key.algorithm).with_scheme(scheme)
    keep_ca_certificate(session, "root", EXTERNAL_KEY, root, now)
    complete_under_issuing(
        session,
        issuing=issuing,
        issuing_key=key,
        ocsp_key=ocsp_key,
        tsa_key=tsa_key,
        urls=urls,
        now=now,
        crl_policy=crl_policy,
    )
    request.completed_at = now
    session.add(request)
    session.flush()
    return ImportedChain(root, issuing, key.key_id, ocsp_key.key_id, tsa_key.key_id)
