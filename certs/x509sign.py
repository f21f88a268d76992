"""Sign certificates and CRLs with a key-store handle instead of a raw private key.

cryptography's builders only sign with a private key object, which a key store (and an HSM)
never hands out. So the builder signs once with a throw-away key of the same type, which fixes
the to-be-signed bytes and the algorithm identifier, and the real key then signs those bytes.
"""

from __future__ import annotations

import functools

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from certs.keys import KeyAlgorithm, SigningKey, SoftwarePrivateKey, generate_private_key

__all__ = ["sign_certificate", "sign_crl"]


@functools.cache
def _placeholder_key(algorithm: KeyAlgorithm) -> SoftwarePrivateKey:
    return generate_private_key(algorithm)


def sign_certificate(builder: x509.CertificateBuilder, key: SigningKey) -> x509.Certificate:
    """The certificate ``builder`` describes, signed by ``key`` with SHA-256."""
    draft = builder.sign(_placeholder_key(key.algorithm), hashes.SHA256())
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
    draft = builder.sign(_placeholder_key(key.algorithm), hashes.SHA256())
    parsed = asn1_crl.CertificateList.load(draft.public_bytes(serialization.Encoding.DER))
    signed = asn1_crl.CertificateList(
        {
            "tbs_cert_list": parsed["tbs_cert_list"],
            "signature_algorithm": parsed["signature_algorithm"],
            "signature": key.sign(draft.tbs_certlist_bytes),
        }
    )
    return x509.load_der_x509_crl(signed.dump())
