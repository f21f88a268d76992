"""AES-256-GCM envelopes: a fresh data key per secret, wrapped under the master key."""

from __future__ import annotations

import base64
import json
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from certs.errors import KeyStoreError, MasterKeyError
from certs.masterkey import MasterKey

__all__ = ["is_complete_envelope", "open_envelope", "seal_envelope"]

_FORMAT = "kyso-envelope-v1"
_WRAP_PURPOSE = b"kyso key-wrapping key v1"


def _aad(name: str) -> bytes:
    return f"{_FORMAT}:{name}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def seal_envelope(master_key: MasterKey, name: str, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` bound to ``name``: moving it under another name breaks it."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce, key_nonce = secrets.token_bytes(12), secrets.token_bytes(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _aad(name))
    wrapped = AESGCM(master_key.derive(_WRAP_PURPOSE)).encrypt(key_nonce, data_key, _aad(name))
    envelope = {
        "format": _FORMAT,
        "cipher": "AES-256-GCM",
        "master_key_id": master_key.key_id,
        "wrapped_key_nonce": _b64(key_nonce),
        "wrapped_key": _b64(wrapped),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    return json.dumps(envelope, sort_keys=True).encode()


def open_envelope(master_key: MasterKey, name: str, sealed: bytes) -> bytes:
    """Decrypt an envelope made by :func:`seal_envelope` under the same master key and name."""
    try:
        envelope = json.loads(sealed)
        if envelope["format"] != _FORMAT:
            raise KeyStoreError(f"{name}: unknown envelope format")
        if envelope["master_key_id"] != master_key.key_id:
            raise MasterKeyError(
                f"{name} was sealed under master key {envelope['master_key_id']}, "
                f"not the configured {master_key.key_id}"
            )
        data_key = AESGCM(master_key.derive(_WRAP_PURPOSE)).decrypt(
            base64.b64decode(envelope["wrapped_key_nonce"]),
            base64.b64decode(envelope["wrapped_key"]),
            _aad(name),
        )
        return AESGCM(data_key).decrypt(
            base64.b64decode(envelope["nonce"]),
            base64.b64decode(envelope["ciphertext"]),
            _aad(name),
        )
    except InvalidTag:
        raise KeyStoreError(f"{name}: the sealed key fails its integrity check") from None
    except (KeyError, TypeError, ValueError):
        raise KeyStoreError(f"{name}: the sealed key is malformed") from None


def is_complete_envelope(sealed: bytes) -> bool:
    """Whether ``sealed`` is a whole envelope (not one being written), without opening it."""
    try:
        envelope = json.loads(sealed)
    except ValueError:
        return False
    return isinstance(envelope, dict) and envelope.get("format") == _FORMAT
