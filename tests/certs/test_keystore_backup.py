"""What the file key store says it keeps, for a backup, and how a restore puts it back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from certs.errors import KeyStoreError, MasterKeyError
from certs.keys import KeyAlgorithm
from certs.keystore import FileKeyStore
from certs.masterkey import MasterKey

KEY = MasterKey(bytes(range(32)))


def test_kept_lists_every_sealed_key_and_nothing_in_clear(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", KEY)
    made = {k: store.generate(k, KeyAlgorithm.ECDSA_P256) for k in ("root-1", "tsa-1")}
    kept = store.kept()
    assert kept.store == "file"
    assert set(kept.sealed) == set(made)
    assert kept.held_elsewhere == ()
    for key_id, sealed in kept.sealed.items():
        assert sealed == (tmp_path / "keys" / f"{key_id}.key").read_bytes()
        assert b"PRIVATE KEY" not in sealed


def test_a_key_file_being_written_is_not_kept(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", KEY)
    store.generate("root-1", KeyAlgorithm.ECDSA_P256)
    (tmp_path / "keys" / "ocsp-1.key").write_bytes(b'{"format": "kyso-env')  # torn write
    assert set(store.kept().sealed) == {"root-1"}


def test_put_sealed_restores_the_same_key_with_mode_0600(tmp_path: Path) -> None:
    source = FileKeyStore(tmp_path / "a", KEY)
    original = source.generate("issuing-1", KeyAlgorithm.ECDSA_P256)
    target = FileKeyStore(tmp_path / "b", KEY)
    target.put_sealed("issuing-1", source.kept().sealed["issuing-1"])
    restored = target.load("issuing-1")
    assert restored.public_key() == original.public_key()
    assert os.stat(tmp_path / "b" / "issuing-1.key").st_mode & 0o777 == 0o600
    with pytest.raises(KeyStoreError, match="exists already"):
        target.put_sealed("issuing-1", source.kept().sealed["issuing-1"])


def test_put_sealed_refuses_another_master_keys_copy_and_writes_nothing(tmp_path: Path) -> None:
    other = FileKeyStore(tmp_path / "other", MasterKey(b"\x07" * 32))
    other.generate("root-1", KeyAlgorithm.ECDSA_P256)
    target = FileKeyStore(tmp_path / "b", KEY)
    with pytest.raises(MasterKeyError, match="sealed under master key"):
        target.put_sealed("root-1", other.kept().sealed["root-1"])
    with pytest.raises(KeyStoreError, match="malformed"):
        target.put_sealed("root-2", b"not an envelope")
    assert not (tmp_path / "b").exists()
