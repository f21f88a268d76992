"""Keys that need a holder's secret as well as the master key: citizens' signing keys.

A key is sealed (AES-256-GCM) under a key-encryption key derived from both the server master key
and a secret only the holder has: the signing PIN, the PUK, or a signature authorisation's
random secret. The service alone cannot open it, nor can a stolen database alone.

With the software custody (the file key store), whoever holds both the database and the master
key can try all 10^6-10^8 PINs offline (argon2id makes each try cost ~30 ms and 19 MiB, not
impossible). With the PKCS#11 custody (:mod:`certs.pkcs11_store`), the key is generated in the
token and kept here only wrapped by a token key, and the stretched PIN enters the
key-encryption key through an HMAC computed by the token: every try needs the token, and goes
through the service that counts it.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certs.custody import HolderKeyCustody, SoftwareCustody
from certs.errors import KeyStoreError, MasterKeyError, WrongSecret
from certs.keys import KeyAlgorithm, SigningKey
from certs.masterkey import MasterKey

__all__ = ["ProtectedKeyVault", "WrongSecret"]

_FORMAT = "kyso-protected-key-v1"
_ARGON2 = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
"""argon2id parameters for low-entropy secrets (OWASP's minimum profile for argon2id)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class ProtectedKeyVault:
    """Seals keys under master key + holder secret; the sealed blobs are the caller's to keep."""

    def __init__(self, master_key: MasterKey, custody: HolderKeyCustody | None = None) -> None:
        self._master_key = master_key
        self._custody: HolderKeyCustody = custody or SoftwareCustody()

    @property
    def custody(self) -> str:
        """Which custody makes and opens the keys (``software`` or ``pkcs11``)."""
        return self._custody.kind

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
        ).derive(server_part + self._custody.bind(name, stretched))

    def _seal(self, name: str, der: bytes, secret: bytes, kdf: str) -> bytes:
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        aad = f"{_FORMAT}:{name}".encode()
        ciphertext = AESGCM(self._kek(name, secret, salt, kdf)).encrypt(nonce, der, aad)
        envelope = {
            "format": _FORMAT,
            "custody": self._custody.kind,
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
            custody = envelope.get("custody", SoftwareCustody.kind)
            if custody != self._custody.kind:
                raise KeyStoreError(
                    f"{name} is kept by the {custody} custody, not by the configured "
                    f"{self._custody.kind} key store"
                )
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
        public_key, material = self._custody.generate(name, algorithm)
        sealed = [self._seal(name, material, secret, "argon2id") for secret in holder_secrets]
        return public_key, sealed

    def open(self, name: str, sealed: bytes, secret: bytes) -> SigningKey:
        """A signing handle; ``WrongSecret`` when the secret does not fit."""
        return self._custody.open(name, self._open_der(name, sealed, secret))

    def rewrap(
        self, name: str, sealed: bytes, secret: bytes, new_secret: bytes, *, random_secret: bool
    ) -> bytes:
        """Re-seal under another secret (PIN change, PUK unlock, or an authorisation's secret).

        ``random_secret`` says the new secret is high-entropy random bytes, which need no
        memory-hard stretching.
        """
        der = self._open_der(name, sealed, secret)
        return self._seal(name, der, new_secret, "hkdf" if random_secret else "argon2id")
