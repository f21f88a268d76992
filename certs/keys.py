"""Key algorithms and the signing-key interface every key store hands out."""

from __future__ import annotations

import enum
from typing import Protocol, cast, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

__all__ = [
    "KeyAlgorithm",
    "KeyHandle",
    "SignatureScheme",
    "SigningKey",
    "SoftwareSigningKey",
    "generate_private_key",
    "rsa_padding",
    "signature_algorithm_identifier",
]

SoftwarePrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class KeyAlgorithm(enum.StrEnum):
    """Key types the CA creates. ECDSA P-256 is the default; RSA-3072 is selectable."""

    ECDSA_P256 = "ecdsa-p256"
    RSA_3072 = "rsa-3072"

    @property
    def is_rsa(self) -> bool:
        return self is KeyAlgorithm.RSA_3072

    @property
    def key_size(self) -> int:
        """Bits of the modulus (RSA) or of the curve's order (ECDSA)."""
        return 3072 if self is KeyAlgorithm.RSA_3072 else 256

    @property
    def curve_oid(self) -> str:
        """The named curve's OID (ECDSA only)."""
        return "secp256r1"

    @property
    def max_signature_bytes(self) -> int:
        """The longest signature such a key makes (DER ECDSA, or the RSA modulus)."""
        return 384 if self is KeyAlgorithm.RSA_3072 else 72

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


class SignatureScheme(enum.StrEnum):
    """How a key signs: ECDSA, or RSA with PKCS#1 v1.5 or RSASSA-PSS (SHA-256, MGF1-SHA-256,
    salt of the digest's length: what Circular 15/2025 and RFC 4055 name)."""

    ECDSA = "ecdsa"
    RSA_PKCS1V15 = "rsa-pkcs1v15"
    RSA_PSS = "rsa-pss"

    @classmethod
    def default(cls, algorithm: KeyAlgorithm) -> SignatureScheme:
        return cls.RSA_PKCS1V15 if algorithm.is_rsa else cls.ECDSA

    @classmethod
    def for_key(cls, algorithm: KeyAlgorithm, *, rsa_pss: bool) -> SignatureScheme:
        """The scheme for a key type, PSS when asked and the key is RSA."""
        if not algorithm.is_rsa:
            return cls.ECDSA
        return cls.RSA_PSS if rsa_pss else cls.RSA_PKCS1V15


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

    @property
    def scheme(self) -> SignatureScheme:
        """How it signs (ECDSA; RSA PKCS#1 v1.5 unless made PSS by :meth:`with_scheme`)."""
        ...

    def with_scheme(self, scheme: SignatureScheme) -> SigningKey:
        """The same key, signing with another scheme (an RSA key with PSS)."""
        ...

    def public_key(self) -> PublicKeyTypes:
        """The public half."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Signature over SHA-256(data): DER ECDSA, or RSA by the handle's scheme."""
        ...

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        """Signature over a digest computed elsewhere (CMS signed attributes, CSC hashes)."""
        ...


class KeyHandle:
    """What every key store's handles share: a name, a key type and a signing scheme."""

    def __init__(
        self, key_id: str, algorithm: KeyAlgorithm, scheme: SignatureScheme | None
    ) -> None:
        self._key_id = key_id
        self._algorithm = algorithm
        wanted = scheme or SignatureScheme.default(algorithm)
        self._scheme = wanted if algorithm.is_rsa else SignatureScheme.ECDSA

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._key_id!r}, {self._algorithm.value})"

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> KeyAlgorithm:
        return self._algorithm

    @property
    def scheme(self) -> SignatureScheme:
        return self._scheme


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
"""Built once: the OCSP responder and the TSA sign with it thousands of times a second."""


class SoftwareSigningKey(KeyHandle):
    """A key opened from a software key store, held in memory only while the handle lives."""

    def __init__(
        self,
        key_id: str,
        private_key: SoftwarePrivateKey,
        scheme: SignatureScheme | None = None,
    ) -> None:
        super().__init__(key_id, KeyAlgorithm.of(private_key.public_key()), scheme)
        self._key = private_key
        self._elliptic = isinstance(private_key, ec.EllipticCurvePrivateKey)

    def with_scheme(self, scheme: SignatureScheme) -> SigningKey:
        return SoftwareSigningKey(self._key_id, self._key, scheme)

    def public_key(self) -> PublicKeyTypes:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        if self._elliptic:  # known at construction: isinstance on an ABC costs each call
            return cast(ec.EllipticCurvePrivateKey, self._key).sign(data, _ECDSA_SHA256)
        key = cast(rsa.RSAPrivateKey, self._key)
        return key.sign(data, rsa_padding(self._scheme, hashes.SHA256()), hashes.SHA256())

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        prehashed = Prehashed(hash_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(digest, ec.ECDSA(prehashed))
        return self._key.sign(digest, rsa_padding(self._scheme, hash_algorithm), prehashed)


def rsa_padding(
    scheme: SignatureScheme, hash_algorithm: hashes.HashAlgorithm
) -> padding.PSS | padding.PKCS1v15:
    """cryptography's padding for an RSA signature scheme (PSS: MGF1 and salt of the hash)."""
    if scheme is SignatureScheme.RSA_PSS:
        return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
    return padding.PKCS1v15()


def signature_algorithm_identifier(key: SigningKey) -> dict[str, object]:
    """The AlgorithmIdentifier (asn1crypto form) of a SHA-256 signature by this handle."""
    if key.scheme is SignatureScheme.ECDSA:
        return {"algorithm": "sha256_ecdsa"}
    if key.scheme is SignatureScheme.RSA_PSS:
        return {
            "algorithm": "rsassa_pss",
            "parameters": {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
                "salt_length": 32,
                "trailer_field": "trailer_field_bc",
            },
        }
    return {"algorithm": "sha256_rsa", "parameters": None}
