"""Issuing certificates: from a key the service generated, or from a CSR for a user-held key."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from sqlmodel import Session

from certs.errors import InvalidCsr
from certs.keys import SigningKey
from certs.models import IssuedCertificate, serial_hex
from certs.profiles import PkiUrls, SignerSubject, signing_profile
from certs.x509sign import sign_certificate

__all__ = [
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "issue_signing_certificate",
    "public_key_from_csr",
    "record_issued",
]

_ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
DEFAULT_LIFETIME = timedelta(days=730)
"""Validity of a person's signing certificate (capped at the issuing CA's own)."""
MAX_LIFETIME = timedelta(days=3 * 365)
"""The longest a subscriber's certificate may live (Circular 15/2025: three years)."""


def public_key_from_csr(data: bytes) -> CertificatePublicKeyTypes:
    """The public key of a PEM or DER CSR whose self-signature verifies.

    Only the key is taken: the subject comes from identity proofing, not from the request.
    """
    try:
        csr = (
            x509.load_pem_x509_csr(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_csr(data)
        )
    except ValueError:
        raise InvalidCsr("the file is not a PEM or DER certificate signing request") from None
    if not csr.is_signature_valid:
        raise InvalidCsr("the request's signature does not verify: it proves no key possession")
    key = csr.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _ACCEPTED_CURVES):
        return key
    if isinstance(key, rsa.RSAPublicKey) and 2048 <= key.key_size <= 8192:
        return key
    raise InvalidCsr("unsupported key: use ECDSA P-256/P-384/P-521 or RSA of 2048 bits or more")


def record_issued(
    session: Session, certificate: x509.Certificate, *, issuer: str, profile: str, now: datetime
) -> IssuedCertificate:
    """Keep an issued certificate so that CRL and OCSP can speak of it."""
    uids = certificate.subject.get_attributes_for_oid(x509.NameOID.USER_ID)
    record = IssuedCertificate(
        serial=serial_hex(certificate.serial_number),
        issuer=issuer,
        profile=profile,
        subject=certificate.subject.rfc4514_string()[:512],
        subject_uid=str(uids[0].value) if uids else None,
        certificate=certificate.public_bytes(serialization.Encoding.DER),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        issued_at=now,
    )
    session.add(record)
    session.flush()
    return record


def issue_signing_certificate(
    session: Session,
    *,
    issuing_certificate: x509.Certificate,
    issuing_key: SigningKey,
    subject: SignerSubject,
    public_key: CertificatePublicKeyTypes,
    urls: PkiUrls,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> x509.Certificate:
    """Issue and record a subscriber's signing certificate for ``public_key``."""
    # Never outlive the issuing CA: a relying party could not build the chain afterwards.
    lifetime = min(lifetime, MAX_LIFETIME, issuing_certificate.not_valid_after_utc - now)
    builder = signing_profile(subject, public_key, issuing_certificate, urls, now, lifetime)
    certificate = sign_certificate(builder, issuing_key)
    record_issued(session, certificate, issuer="issuing", profile="signing", now=now)
    return certificate
