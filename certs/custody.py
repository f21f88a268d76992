"""Who holds citizens' keys between signatures: the service's software, or a PKCS#11 token.

:class:`certs.protected_keys.ProtectedKeyVault` seals whatever a custody hands it under the
holder's PIN; the custody decides what that material is and how the PIN-derived key is bound.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certs.errors import KeyStoreError
from certs.keys import KeyAlgorithm, SigningKey, SoftwareSigningKey, generate_private_key

__all__ = ["HolderKeyCustody", "SoftwareCustody"]


class HolderKeyCustody(Protocol):
    """Makes citizens' keys and opens them again from the material kept (sealed) outside."""

    kind: str
    """``software`` or ``pkcs11``: recorded in each envelope, checked when it is opened."""

    def generate(self, name: str, algorithm: KeyAlgorithm) -> tuple[PublicKeyTypes, bytes]:
        """A new key: its public half, and the material to seal (never a clear key outside
        the software custody)."""
        ...

    def open(self, name: str, material: bytes) -> SigningKey:
        """A signing handle on the key that ``material`` holds."""
        ...

    def bind(self, name: str, stretched: bytes) -> bytes:
        """The holder's stretched secret as it enters the key-encryption key. The software
        custody takes it as it is; a token runs it through a key of its own, so that no PIN
        can be tried without the token."""
        ...


class SoftwareCustody:
    """Keys made by the service's own code, kept as PKCS#8 inside the PIN-sealed envelope."""

    kind = "software"

    def generate(self, name: str, algorithm: KeyAlgorithm) -> tuple[PublicKeyTypes, bytes]:
        private_key = generate_private_key(algorithm)
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return private_key.public_key(), der

    def open(self, name: str, material: bytes) -> SigningKey:
        key = serialization.load_der_private_key(material, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeyStoreError(f"{name}: unsupported key type")
        return SoftwareSigningKey(name, key)

    def bind(self, name: str, stretched: bytes) -> bytes:
        return stretched
