"""Key algorithms and the signing-key interface every key store hands out."""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

__all__ = [
    "KeyAlgorithm",
    "SigningKey",
    "SoftwareSigningKey",
    "generate_private_key",
    "signature_algorithm_identifier",
]

SoftwarePrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class KeyAlgorithm(enum.StrEnum):
    """Key types the CA creates. ECDSA P-256 is the default; RSA-3072 is selectable."""

    ECDSA_P256 = "ecdsa-p256"
    RSA_3072 = "rsa-3072"

    @property
    def cms_signature_algorithm(self) -> str:
        """asn1crypto's name for the signature algorithm over SHA-256 with this key type."""
        return "sha256_ecdsa" if self is KeyAlgorithm.ECDSA_P256 else "sha256_rsa"

    @classmethod
    def of(cls, public_key: PublicKeyTypes) -> KeyAlgorithm:
        """The algorithm of a public key; ``ValueError`` for anything else."""
        if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
            public_key.curve, ec.SECP256R1
        ):
            return cls.ECDSA_P256
        if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 3072:
            return cls.RSA_3072
        raise ValueError("unsupported key type")


def generate_private_key(algorithm: KeyAlgorithm) -> SoftwarePrivateKey:
    """A fresh private key. Only key stores call this: keys never leave them."""
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


@runtime_checkable
class SigningKey(Protocol):
    """A private key held by a key store: it signs, and never shows its secret."""

    @property
    def key_id(self) -> str:
        """The key store's name for the key."""
        ...

    @property
    def algorithm(self) -> KeyAlgorithm:
        """The key type."""
        ...

    def public_key(self) -> PublicKeyTypes:
        """The public half."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Signature over SHA-256(data): DER ECDSA, or RSA PKCS#1 v1.5."""
        ...

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        """Signature over a digest computed elsewhere (CMS signed attributes, CSC hashes)."""
        ...


class SoftwareSigningKey:
    """A key opened from a software key store, held in memory only while the handle lives."""

    __slots__ = ("_algorithm", "_key", "_key_id")

    def __init__(self, key_id: str, private_key: SoftwarePrivateKey) -> None:
        self._key_id = key_id
        self._key = private_key
        self._algorithm = KeyAlgorithm.of(private_key.public_key())

    def __repr__(self) -> str:
        return f"SoftwareSigningKey({self._key_id!r}, {self._algorithm.value})"

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> KeyAlgorithm:
        return self._algorithm

    def public_key(self) -> PublicKeyTypes:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        prehashed = Prehashed(hash_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(digest, ec.ECDSA(prehashed))
        return self._key.sign(digest, padding.PKCS1v15(), prehashed)


def signature_algorithm_identifier(algorithm: KeyAlgorithm) -> dict[str, object]:
    """The AlgorithmIdentifier (asn1crypto form) of a SHA-256 signature by such a key."""
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return {"algorithm": "sha256_ecdsa"}
    return {"algorithm": "sha256_rsa", "parameters": None}
