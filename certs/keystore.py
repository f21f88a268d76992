"""The key store interface and its file backend (AES-256-GCM envelopes under the master key)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certs.envelope import is_complete_envelope, open_envelope, seal_envelope
from certs.errors import KeyNotFound, KeyStoreError
from certs.keys import KeyAlgorithm, SigningKey, SoftwareSigningKey, generate_private_key
from certs.masterkey import MasterKey

__all__ = ["FileKeyStore", "KeptKeys", "KeyStore"]

_KEY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class KeptKeys:
    """What a key store keeps, as a backup sees it."""

    store: str
    """The kind of store: ``file``, ``pkcs11``."""
    sealed: Mapping[str, bytes] = field(default_factory=dict)
    """Key id -> the key's sealed form, safe to copy: useless without the master key."""
    held_elsewhere: tuple[str, ...] = ()
    """Key ids kept where no copy can be taken (an HSM's token): that device's own backup
    holds them, and a restore only checks they are there."""


class KeyStore(Protocol):
    """Where private keys live. They are generated inside and only signing handles come out."""

    kind: str
    """``file`` or ``pkcs11``."""

    def generate(self, key_id: str, algorithm: KeyAlgorithm) -> SigningKey:
        """Create and keep a new key under a fresh ``key_id``; ``KeyStoreError`` if taken."""
        ...

    def load(self, key_id: str) -> SigningKey:
        """A handle on a kept key; ``KeyNotFound`` when there is none."""
        ...

    def exists(self, key_id: str) -> bool:
        """Whether a key is kept under ``key_id``."""
        ...

    def kept(self) -> KeptKeys:
        """Every key kept, for a backup: sealed copies, or the ids a device keeps itself."""
        ...

    def put_sealed(self, key_id: str, sealed: bytes) -> None:
        """Keep a sealed copy made by :meth:`kept` (a restore); ``KeyStoreError`` when the id
        is taken or the copy does not open under this store's master key."""
        ...


class FileKeyStore:
    """Keys as sealed envelopes, one file each (mode 0600) in a private directory."""

    kind = "file"

    def __init__(self, directory: Path, master_key: MasterKey) -> None:
        self._directory = directory
        self._master_key = master_key

    def _path(self, key_id: str) -> Path:
        if not _KEY_ID.match(key_id):
            raise KeyStoreError(f"invalid key id {key_id!r}")
        return self._directory / f"{key_id}.key"

    def generate(self, key_id: str, algorithm: KeyAlgorithm) -> SigningKey:
        path = self._path(key_id)
        private_key = generate_private_key(algorithm)
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._write_new(path, key_id, seal_envelope(self._master_key, key_id, der))
        return SoftwareSigningKey(key_id, private_key)

    def _write_new(self, path: Path, key_id: str, sealed: bytes) -> None:
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyStoreError(f"a key named {key_id!r} exists already") from None
        with os.fdopen(fd, "wb") as f:
            f.write(sealed)
            f.flush()
            os.fsync(f.fileno())

    def load(self, key_id: str) -> SigningKey:
        try:
            sealed = self._path(key_id).read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(
                f"no key {key_id!r} in {self._directory}: several nodes need one shared key store"
            ) from None
        der = open_envelope(self._master_key, key_id, sealed)
        private_key = serialization.load_der_private_key(der, password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeyStoreError(f"{key_id}: unsupported key type")
        return SoftwareSigningKey(key_id, private_key)

    def exists(self, key_id: str) -> bool:
        return self._path(key_id).exists()

    def kept(self) -> KeptKeys:
        sealed: dict[str, bytes] = {}
        if self._directory.is_dir():
            for path in sorted(self._directory.glob("*.key")):
                content = path.read_bytes()
                if _KEY_ID.match(path.stem) and is_complete_envelope(content):
                    sealed[path.stem] = content  # (a key being written this instant is not)
        return KeptKeys(store="file", sealed=sealed)

    def put_sealed(self, key_id: str, sealed: bytes) -> None:
        path = self._path(key_id)
        open_envelope(self._master_key, key_id, sealed)  # refuses another master key's copy
        self._write_new(path, key_id, sealed)
