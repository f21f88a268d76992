"""The backup file's seal: any byte changed anywhere is refused, and so is another master key."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import tarfile
from pathlib import Path

import pytest

from api.usecases.backup_archive import open_backup, write_archive
from api.usecases.backup_errors import BackupDamaged, BackupError, BackupFromAnotherMasterKey
from certs.masterkey import MasterKey
from tests.support.server import require_tool

KEY = MasterKey(bytes(range(32)))
PARTS = {
    "database/kyso.db.gz": secrets.token_bytes(3000),
    "keys/root-1.key": b'{"format": "kyso-envelope-v1", "ciphertext": "..."}',
    "documents/5f0c.pdf": b"%PDF-1.7\n" + secrets.token_bytes(700),
}


def _write(path: Path, key: MasterKey = KEY) -> str:
    with write_archive(path, mtime=1_780_000_000) as writer:
        for name, data in PARTS.items():
            writer.add_bytes(name, data)
        return writer.finish({"backup_id": "b1", "made_at": "2026-12-01T00:00:00+00:00"}, key)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "backup.kyso"
    _write(path)
    return path


def test_a_sealed_backup_opens_and_gives_back_every_part(sealed: Path, tmp_path: Path) -> None:
    opened = open_backup(sealed, KEY)
    assert opened.manifest["master_key_id"] == KEY.key_id
    assert {p["name"] for p in opened.manifest["parts"]} == set(PARTS)
    written = opened.extract_all(tmp_path / "out")
    assert {name: path.read_bytes() for name, path in written.items()} == PARTS
    assert all(path.stat().st_mode & 0o077 == 0 for path in written.values())
    assert sealed.stat().st_mode & 0o077 == 0


def test_stock_tar_lists_the_backup(sealed: Path) -> None:
    listed = subprocess.run(
        [require_tool("tar"), "-tvf", str(sealed)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line.split()[-1] for line in listed] == [*PARTS, "manifest.json", "kyso-backup.seal"]
    assert all(line.startswith("-rw-------") for line in listed)


def test_any_byte_changed_is_refused(sealed: Path, tmp_path: Path) -> None:
    """Every byte of the manifest and the seal, every 3rd of the tar headers, every 11th of the
    rest (the parts, the padding, the end blocks): each is covered the same way."""
    original = sealed.read_bytes()
    with tarfile.open(sealed) as tar:
        members = tar.getmembers()
    every = [range(m.offset_data, m.offset_data + m.size) for m in members[-2:]]
    headers = [range(m.offset, m.offset_data) for m in members]
    sampled = [
        p
        for p in range(len(original))
        if any(p in r for r in every)
        or (p % 3 == 0 and any(p in r for r in headers))
        or p % 11 == 0
    ]
    copy = tmp_path / "changed.kyso"
    for position in sampled:
        changed = bytearray(original)
        changed[position] ^= 0x01
        copy.write_bytes(bytes(changed))
        with pytest.raises(BackupDamaged) as refused:
            open_backup(copy, KEY)
        assert "altered" in refused.value.detail or "damaged" in refused.value.detail, position
    assert len(sampled) > 2000


def test_a_cut_short_backup_is_refused(sealed: Path, tmp_path: Path) -> None:
    original = sealed.read_bytes()
    for length in (0, 100, 4096, len(original) - 10_000, len(original) - 1):
        copy = tmp_path / f"cut-{length}.kyso"
        copy.write_bytes(original[:length])
        with pytest.raises(BackupDamaged):
            open_backup(copy, KEY)


def test_another_master_key_is_named_not_mistaken_for_damage(sealed: Path) -> None:
    other = MasterKey(b"\x07" * 32)
    with pytest.raises(BackupFromAnotherMasterKey) as refused:
        open_backup(sealed, other)
    assert KEY.key_id in refused.value.detail
    assert other.key_id in refused.value.detail
    assert refused.value.code == "backup.other_master_key"


def test_a_change_with_its_checksum_recomputed_fails_the_master_keys_seal(
    sealed: Path, tmp_path: Path
) -> None:
    """Whoever edits a backup and fixes its SHA-256 cannot fix the HMAC without the master key."""
    forged = tmp_path / "forged.kyso"
    with write_archive(forged, mtime=1_780_000_000) as writer:
        for name, data in PARTS.items():
            writer.add_bytes(name, data.replace(b"kyso", b"KYSO"))
        writer.finish({"backup_id": "b1", "made_at": "2026-12-01T00:00:00+00:00"},
                      MasterKey(b"\x09" * 32))  # fmt: skip
    raw = bytearray(forged.read_bytes())
    # Claim to be ours: the manifest names our master key; the SHA-256 is made right again.
    with tarfile.open(forged) as tar:
        manifest = tar.getmember("manifest.json")
        seal = tar.getmember("kyso-backup.seal")
    body = bytes(raw[manifest.offset_data : manifest.offset_data + manifest.size])
    patched = body.replace(MasterKey(b"\x09" * 32).key_id.encode(), KEY.key_id.encode())
    raw[manifest.offset_data : manifest.offset_data + manifest.size] = patched
    zeroed = bytearray(raw)
    zeroed[seal.offset_data : seal.offset_data + seal.size] = bytes(seal.size)
    old_seal = json.loads(bytes(raw[seal.offset_data : seal.offset_data + seal.size]))
    new_seal = json.dumps({"format": old_seal["format"], "hmac_sha256": old_seal["hmac_sha256"],
                           "sha256": hashlib.sha256(zeroed).hexdigest()}) + "\n"  # fmt: skip
    raw[seal.offset_data : seal.offset_data + seal.size] = new_seal.encode()
    forged.write_bytes(bytes(raw))
    with pytest.raises(BackupDamaged, match="does not verify under this master key"):
        open_backup(forged, KEY)


def test_a_backup_never_overwrites_a_file_and_leaves_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "there.kyso"
    target.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists already"), write_archive(target, mtime=0):
        pass
    assert target.read_bytes() == b"keep me"
    other = tmp_path / "failed.kyso"
    with pytest.raises(BackupError, match="invalid part name"), write_archive(other, mtime=0) as w:
        w.add_bytes("../a.key", b"x")  # fails half-way: the partial file goes
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "keys/../../x", "manifest.json"])
def test_parts_with_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    with (
        pytest.raises(BackupError, match="invalid part name"),
        write_archive(tmp_path / "b.kyso", mtime=0) as writer,
    ):
        writer.add_bytes(name, b"x")


def test_an_interrupted_backups_partial_file_is_named_not_overwritten(tmp_path: Path) -> None:
    partial = tmp_path / "b.kyso.partial"
    partial.write_bytes(b"half")
    with (
        pytest.raises(BackupError, match="was interrupted"),
        write_archive(tmp_path / "b.kyso", mtime=0),
    ):
        pass
    assert partial.read_bytes() == b"half"
