"""Keys that need a holder's secret as well as the master key: citizens' signing keys.

A key is sealed (AES-256-GCM) under a key-encryption key derived from both the server master key
and a secret only the holder has: the signing PIN, the PUK, or a signature authorisation's
random secret. The service alone cannot open it, nor can a stolen database alone.

What this does not protect against: whoever holds both the database and the master key can try
all 10^6-10^8 PINs offline (argon2id makes each try cost ~30 ms and 19 MiB, not impossible). The
PKCS#11 backend, where the HSM counts the tries, is the production answer.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certs.errors import KeyStoreError, MasterKeyError, WrongSecret
from certs.keys import KeyAlgorithm, SigningKey, SoftwareSigningKey, generate_private_key
from certs.masterkey import MasterKey

__all__ = ["ProtectedKeyVault", "WrongSecret"]

_FORMAT = "kyso-protected-key-v1"
_ARGON2 = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
"""argon2id parameters for low-entropy secrets (OWASP's minimum profile for argon2id)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class ProtectedKeyVault:
    """Seals keys under master key + holder secret; the sealed blobs are the caller's to keep."""

    def __init__(self, master_key: MasterKey) -> None:
        self._master_key = master_key

    def _kek(self, name: str, secret: bytes, salt: bytes, kdf: str) -> bytes:
        if kdf == "argon2id":
            stretched = hash_secret_raw(secret, salt, hash_len=32, type=Type.ID, **_ARGON2)
        elif kdf == "hkdf":
            stretched = secret
        else:
            raise KeyStoreError(f"{name}: unknown key derivation {kdf!r}")
        server_part = self._master_key.derive(b"kyso protected key v1")
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=salt, info=f"{_FORMAT}:{name}".encode()
        ).derive(server_part + stretched)

    def _seal(self, name: str, der: bytes, secret: bytes, kdf: str) -> bytes:
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        aad = f"{_FORMAT}:{name}".encode()
        ciphertext = AESGCM(self._kek(name, secret, salt, kdf)).encrypt(nonce, der, aad)
        envelope = {
            "format": _FORMAT,
            "master_key_id": self._master_key.key_id,
            "kdf": kdf,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
        }
        return json.dumps(envelope, sort_keys=True).encode()

    def _open_der(self, name: str, sealed: bytes, secret: bytes) -> bytes:
        try:
            envelope = json.loads(sealed)
            if envelope["master_key_id"] != self._master_key.key_id:
                raise MasterKeyError(f"{name} was sealed under another master key")
            kek = self._kek(name, secret, base64.b64decode(envelope["salt"]), envelope["kdf"])
            return AESGCM(kek).decrypt(
                base64.b64decode(envelope["nonce"]),
                base64.b64decode(envelope["ciphertext"]),
                f"{_FORMAT}:{name}".encode(),
            )
        except InvalidTag:
            raise WrongSecret(f"{name}: the secret does not open this key") from None
        except (KeyError, TypeError, ValueError):
            raise KeyStoreError(f"{name}: the sealed key is malformed") from None

    def generate(
        self, name: str, algorithm: KeyAlgorithm, holder_secrets: Sequence[bytes]
    ) -> tuple[PublicKeyTypes, list[bytes]]:
        """A new key, sealed once per secret (argon2id-stretched); the key itself is dropped."""
        private_key = generate_private_key(algorithm)
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        sealed = [self._seal(name, der, secret, "argon2id") for secret in holder_secrets]
        return private_key.public_key(), sealed

    def open(self, name: str, sealed: bytes, secret: bytes) -> SigningKey:
        """A signing handle; ``WrongSecret`` when the secret does not fit."""
        key = serialization.load_der_private_key(
            self._open_der(name, sealed, secret), password=None
        )
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeyStoreError(f"{name}: unsupported key type")
        return SoftwareSigningKey(name, key)

    def rewrap(
        self, name: str, sealed: bytes, secret: bytes, new_secret: bytes, *, random_secret: bool
    ) -> bytes:
        """Re-seal under another secret (PIN change, PUK unlock, or an authorisation's secret).

        ``random_secret`` says the new secret is high-entropy random bytes, which need no
        memory-hard stretching.
        """
        der = self._open_der(name, sealed, secret)
        return self._seal(name, der, new_secret, "hkdf" if random_secret else "argon2id")
