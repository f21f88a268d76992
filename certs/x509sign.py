"""Sign certificates and CRLs with a key-store handle instead of a raw private key.

cryptography's builders only sign with a private key object, which a key store (and an HSM)
never hands out. So the builder signs once with a throw-away key of the same type, which fixes
the to-be-signed bytes and the algorithm identifier, and the real key then signs those bytes.
"""

from __future__ import annotations

import functools

from asn1crypto import crl as asn1_crl
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from certs.keys import (
    KeyAlgorithm,
    SignatureScheme,
    SigningKey,
    SoftwarePrivateKey,
    generate_private_key,
    rsa_padding,
)

__all__ = ["sign_certificate", "sign_crl", "sign_csr"]


@functools.cache
def _placeholder_key(algorithm: KeyAlgorithm) -> SoftwarePrivateKey:
    return generate_private_key(algorithm)


def _padding(key: SigningKey) -> padding.PSS | padding.PKCS1v15 | None:
    """The builder's ``rsa_padding`` argument, so its AlgorithmIdentifier names the scheme."""
    if key.scheme is SignatureScheme.ECDSA:
        return None
    return rsa_padding(key.scheme, hashes.SHA256())


def sign_certificate(builder: x509.CertificateBuilder, key: SigningKey) -> x509.Certificate:
    """The certificate ``builder`` describes, signed by ``key`` with SHA-256."""
    draft = builder.sign(
        _placeholder_key(key.algorithm), hashes.SHA256(), rsa_padding=_padding(key)
    )
    parsed = asn1_x509.Certificate.load(draft.public_bytes(serialization.Encoding.DER))
    signed = asn1_x509.Certificate(
        {
            "tbs_certificate": parsed["tbs_certificate"],
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": key.sign(draft.tbs_certificate_bytes),
        }
    )
    return x509.load_der_x509_certificate(signed.dump())


def sign_crl(
    builder: x509.CertificateRevocationListBuilder, key: SigningKey
) -> x509.CertificateRevocationList:
    """The CRL ``builder`` describes, signed by ``key`` with SHA-256."""
    draft = builder.sign(
        _placeholder_key(key.algorithm), hashes.SHA256(), rsa_padding=_padding(key)
    )
    parsed = asn1_crl.CertificateList.load(draft.public_bytes(serialization.Encoding.DER))
    signed = asn1_crl.CertificateList(
        {
            "tbs_cert_list": parsed["tbs_cert_list"],
            "signature_algorithm": parsed["signature_algorithm"],
            "signature": key.sign(draft.tbs_certlist_bytes),
        }
    )
    return x509.load_der_x509_crl(signed.dump())


def sign_csr(
    builder: x509.CertificateSigningRequestBuilder, key: SigningKey
) -> x509.CertificateSigningRequest:
    """The request ``builder`` describes, for ``key``'s public key and signed by it (SHA-256):
    the proof of possession a parent CA checks."""
    draft = builder.sign(
        _placeholder_key(key.algorithm), hashes.SHA256(), rsa_padding=_padding(key)
    )
    parsed = asn1_csr.CertificationRequest.load(draft.public_bytes(serialization.Encoding.DER))
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = parsed["certification_request_info"].copy()
    info["subject_pk_info"] = asn1_keys.PublicKeyInfo.load(spki)
    signed = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": parsed["signature_algorithm"],
            "signature": key.sign(info.dump(force=True)),
        }
    )
    return x509.load_der_x509_csr(signed.dump())
