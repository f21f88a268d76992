"""A pyHanko ``Signer`` that signs through a key-store handle, with a fixed size reservation."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.attributes import CMSAttributeProvider, SigningCertificateV2Provider
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certs.keys import SigningKey, signature_algorithm_identifier

__all__ = ["KeyStoreSigner"]


@functools.lru_cache(maxsize=1024)
def _signing_certificate_attribute(certificate_der: bytes) -> bytes:
    """pyHanko's own signing-certificate-v2 attribute for a certificate, encoded once."""
    certificate = asn1_x509.Certificate.load(certificate_der)
    attribute = simple_cms_attribute(
        "signing_certificate_v2", as_signing_certificate_v2(certificate)
    )
    encoded: bytes = attribute.dump()
    return encoded


class _EncodedSigningCertificate(CMSAttributeProvider):
    """The signing-certificate-v2 attribute, read from its encoding made once per certificate.

    pyHanko builds it anew for every signature, and asn1crypto then re-encodes the issuer's
    name at every level of the attribute: measured at two thirds of the whole ``sign_pdf``
    call for a one-page PDF (17 ms against 5 ms). A loaded value is written back as it was read.
    """

    attribute_type = "signing_certificate_v2"

    def __init__(self, certificate: asn1_x509.Certificate) -> None:
        self._encoded = _signing_certificate_attribute(certificate.dump())

    async def get_attribute(self, dry_run: bool = False) -> cms.CMSAttribute:
        return cms.CMSAttribute.load(self._encoded)


class KeyStoreSigner(Signer):
    """Signs CMS signed attributes with an unlocked key handle, built once per authorisation.

    The key never leaves its handle; pyHanko's dry run (used only when no size is reserved)
    gets zeros of the largest signature size instead of a second real signature.
    """

    def __init__(
        self,
        key: SigningKey,
        certificate: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
    ) -> None:
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs(chain),
            signature_mechanism=algos.SignedDigestAlgorithm(signature_algorithm_identifier(key)),
            embed_roots=True,
        )
        self._key = key
        self._certificates_size = len(certificate.dump()) + sum(len(c.dump()) for c in chain)

    @property
    def certificates_size(self) -> int:
        """Bytes of the certificates embedded in every signature (signer and chain)."""
        return self._certificates_size

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Iterator[CMSAttributeProvider]:
        """pyHanko's providers, with the signing certificate's attribute from its encoding."""
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if isinstance(provider, SigningCertificateV2Provider):
                yield _EncodedSigningCertificate(provider.signing_cert)
            else:
                yield provider

    @property
    def max_signature_size(self) -> int:
        return self._key.algorithm.max_signature_bytes

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"kyso signs with SHA-256, not {digest_algorithm}")
        if dry_run:
            return bytes(self.max_signature_size)
        return self._key.sign(data)
