"""The server master key: from ``KYSO_MASTER_KEY`` or from a 0600 file made at init."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certs.errors import MasterKeyError

__all__ = [
    "MasterKey",
    "create_master_key_file",
    "encode_master_key",
    "load_master_key",
    "parse_master_key",
    "write_master_key_file",
]

MASTER_KEY_BYTES = 32


@dataclass(frozen=True, repr=False)
class MasterKey:
    """32 secret bytes from which every key-encryption key is derived."""

    secret: bytes
    """The raw key; never logged, never written anywhere but its own file."""

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        """A public fingerprint that tells which master key sealed an envelope."""
        return hmac.new(self.secret, b"kyso master key id", hashlib.sha256).hexdigest()[:16]

    def derive(self, purpose: bytes, length: int = 32) -> bytes:
        """A sub-key for one purpose (HKDF-SHA256)."""
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(
            self.secret
        )


def parse_master_key(text: str) -> MasterKey:
    """Read a master key written as 64 hex digits or as base64 (either alphabet) of 32 bytes."""
    text = text.strip()
    raw = b""
    if len(text) == 2 * MASTER_KEY_BYTES and all(c in "0123456789abcdefABCDEF" for c in text):
        raw = bytes.fromhex(text)
    else:
        normalised = text.replace("+", "-").replace("/", "_")
        try:
            raw = base64.urlsafe_b64decode(normalised + "=" * (-len(normalised) % 4))
        except (binascii.Error, ValueError):
            raw = b""
    if len(raw) != MASTER_KEY_BYTES:
        raise MasterKeyError(
            "the master key must be 32 bytes, written as 64 hex digits or in base64"
        )
    return MasterKey(raw)


def create_master_key_file(path: Path) -> bool:
    """Create the master key file (mode 0600) unless it exists. True when it was created."""
    try:
        write_master_key_file(path, MasterKey(secrets.token_bytes(MASTER_KEY_BYTES)))
    except FileExistsError:
        return False
    return True


def encode_master_key(master_key: MasterKey) -> str:
    """The master key as written in its file and in ``KYSO_MASTER_KEY`` (base64url)."""
    return base64.urlsafe_b64encode(master_key.secret).decode()


def write_master_key_file(path: Path, master_key: MasterKey) -> None:
    """Write ``master_key`` to a new file of mode 0600; ``FileExistsError`` if there is one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(encode_master_key(master_key) + "\n")
        f.flush()
        os.fsync(f.fileno())


def load_master_key(*, env_value: str | None, path: Path) -> MasterKey:
    """The master key: the environment's if set, else the file's, which must be private."""
    if env_value:
        return parse_master_key(env_value)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise MasterKeyError(
            f"no master key: set KYSO_MASTER_KEY or run `kyso init` to create {path}"
        ) from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"refusing to start: {path} is readable by other users "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {path}`"
        )
    return parse_master_key(path.read_text())
