"""A pyHanko ``Signer`` that signs through a key-store handle, with a fixed size reservation."""

from __future__ import annotations

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certs.keys import KeyAlgorithm, SigningKey

__all__ = ["KeyStoreSigner"]

_MAX_SIGNATURE_BYTES = {KeyAlgorithm.ECDSA_P256: 72, KeyAlgorithm.RSA_3072: 384}


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
            signature_mechanism=algos.SignedDigestAlgorithm(
                {"algorithm": key.algorithm.cms_signature_algorithm}
            ),
            embed_roots=True,
        )
        self._key = key
        self._certificates_size = len(certificate.dump()) + sum(len(c.dump()) for c in chain)

    @property
    def certificates_size(self) -> int:
        """Bytes of the certificates embedded in every signature (signer and chain)."""
        return self._certificates_size

    @property
    def max_signature_size(self) -> int:
        return _MAX_SIGNATURE_BYTES[self._key.algorithm]

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"kyso signs with SHA-256, not {digest_algorithm}")
        if dry_run:
            return bytes(self.max_signature_size)
        return self._key.sign(data)
