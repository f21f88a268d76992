"""Keys at rest: sealed envelopes, master key handling, the file backend."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from certs.envelope import open_envelope, seal_envelope
from certs.errors import KeyNotFound, KeyStoreError, MasterKeyError
from certs.keys import KeyAlgorithm
from certs.keystore import FileKeyStore
from certs.masterkey import MasterKey, create_master_key_file, load_master_key, parse_master_key

KEY = MasterKey(bytes(range(32)))


def test_envelope_round_trip_and_binding_to_name() -> None:
    sealed = seal_envelope(KEY, "ocsp-1", b"secret material")
    assert b"secret material" not in sealed
    assert open_envelope(KEY, "ocsp-1", sealed) == b"secret material"
    with pytest.raises(KeyStoreError):
        open_envelope(KEY, "root-1", sealed)


def test_tampered_envelope_is_refused() -> None:
    envelope = json.loads(seal_envelope(KEY, "k", b"secret material"))
    ciphertext = bytearray(base64.b64decode(envelope["ciphertext"]))
    ciphertext[0] ^= 1
    envelope["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    with pytest.raises(KeyStoreError, match="integrity"):
        open_envelope(KEY, "k", json.dumps(envelope).encode())


def test_envelope_under_another_master_key_names_the_mismatch() -> None:
    sealed = seal_envelope(KEY, "k", b"x")
    with pytest.raises(MasterKeyError, match="sealed under master key"):
        open_envelope(MasterKey(b"\x07" * 32), "k", sealed)


@pytest.mark.parametrize(
    "text",
    [
        bytes(range(32)).hex(),
        base64.b64encode(bytes(range(32))).decode(),
        base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
    ],
    ids=["hex", "base64", "base64url-unpadded"],
)
def test_master_key_accepts_hex_and_base64(text: str) -> None:
    assert parse_master_key(text).secret == bytes(range(32))


@pytest.mark.parametrize("text", ["", "short", "00" * 31, "zz" * 32])
def test_master_key_of_wrong_size_is_refused(text: str) -> None:
    with pytest.raises(MasterKeyError):
        parse_master_key(text)


def test_master_key_repr_shows_no_secret() -> None:
    assert bytes(range(32)).hex() not in repr(KEY)
    assert KEY.key_id in repr(KEY)


def test_master_key_file_is_created_private_once(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    assert create_master_key_file(path) is True
    content = path.read_bytes()
    assert create_master_key_file(path) is False
    assert path.read_bytes() == content
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(load_master_key(env_value=None, path=path).secret) == 32


def test_master_key_file_open_to_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    create_master_key_file(path)
    path.chmod(0o640)
    with pytest.raises(MasterKeyError, match="readable by other users"):
        load_master_key(env_value=None, path=path)


def test_environment_master_key_wins_over_file(tmp_path: Path) -> None:
    assert load_master_key(env_value="11" * 32, path=tmp_path / "absent").secret == b"\x11" * 32


def test_missing_master_key_explains_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="kyso init"):
        load_master_key(env_value=None, path=tmp_path / "absent")


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_file_key_store_signs_with_reloaded_key(tmp_path: Path, algorithm: KeyAlgorithm) -> None:
    store = FileKeyStore(tmp_path / "keys", KEY)
    generated = store.generate("user-1", algorithm)
    reloaded = FileKeyStore(tmp_path / "keys", KEY).load("user-1")

    signature = reloaded.sign(b"document")
    public_key = generated.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, b"document", ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, b"document", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    assert reloaded.algorithm is algorithm
    assert (tmp_path / "keys" / "user-1.key").stat().st_mode & 0o777 == 0o600


def test_file_key_store_never_overwrites_and_reports_missing(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", KEY)
    store.generate("a", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyStoreError, match="exists"):
        store.generate("a", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyNotFound):
        store.load("b")
    with pytest.raises(KeyStoreError, match="invalid key id"):
        store.load("../../etc/passwd")


def test_file_key_store_under_other_master_key_cannot_open(tmp_path: Path) -> None:
    FileKeyStore(tmp_path / "keys", KEY).generate("a", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(MasterKeyError):
        FileKeyStore(tmp_path / "keys", MasterKey(b"\x09" * 32)).load("a")
