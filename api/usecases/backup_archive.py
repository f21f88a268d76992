"""The backup file: a tar archive of parts, a manifest naming each part's digest, and a seal.

The seal is the last member: the SHA-256 of the whole file (with the seal's own bytes taken as
zeros) and an HMAC of the same bytes under a key derived from the master key. Any byte changed
anywhere (a part, the manifest, a tar header, the padding) breaks the SHA-256; a change made by
someone who recomputed it breaks the HMAC; a backup of another instance names another master
key id. ``tar -tvf FILE`` lists it; nothing in it is a clear key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from api.usecases.backup_errors import BackupDamaged, BackupError, BackupFromAnotherMasterKey
from certs.masterkey import MasterKey

__all__ = [
    "FORMAT",
    "ArchiveWriter",
    "OpenedBackup",
    "Part",
    "file_sha256",
    "open_backup",
    "write_archive",
]

FORMAT = "kyso-backup-v1"
MANIFEST = "manifest.json"
SEAL = "kyso-backup.seal"
_SEAL_PURPOSE = b"kyso backup seal v1"
_CHUNK = 1 << 20
_PART_NAME = re.compile(r"^(database|keys|documents)/[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _seal_bytes(sha256: str, mac: str) -> bytes:
    return (json.dumps({"format": FORMAT, "hmac_sha256": mac, "sha256": sha256}) + "\n").encode()


_SEAL_SIZE = len(_seal_bytes("0" * 64, "0" * 64))


@dataclass(frozen=True)
class Part:
    """One member of the archive as the manifest names it."""

    name: str
    bytes: int
    sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """Reads from ``source`` and hashes what passes."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.digest.update(data)
        return data


class ArchiveWriter:
    """Adds parts to a new backup file (``FILE.partial`` until :meth:`finish` renames it)."""

    def __init__(self, path: Path, *, mtime: int) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._mtime = mtime
        self._parts: list[Part] = []
        try:
            fd = os.open(self._partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise BackupError(
                f"{self._partial} exists: another backup is writing it, or one was interrupted "
                "(then remove it)"
            ) from None
        self._file = os.fdopen(fd, "w+b")
        self._tar = tarfile.open(  # noqa: SIM115 - closed by finish() or abort()
            fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT
        )

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self._mtime, 0o600
        return info

    def add_stream(self, name: str, source: IO[bytes], size: int) -> Part:
        if not _PART_NAME.match(name):
            raise BackupError(f"invalid part name {name!r}")
        hashing = _Hashing(source)
        self._tar.addfile(self._info(name, size), hashing)
        part = Part(name, size, hashing.digest.hexdigest())
        self._parts.append(part)
        return part

    def add_file(self, name: str, path: Path) -> Part:
        with path.open("rb") as f:
            return self.add_stream(name, f, os.fstat(f.fileno()).st_size)

    def add_bytes(self, name: str, data: bytes) -> Part:
        return self.add_stream(name, io.BytesIO(data), len(data))

    @property
    def parts(self) -> list[Part]:
        return list(self._parts)

    def finish(self, manifest: dict[str, Any], master_key: MasterKey) -> str:
        """Write the manifest (with every part's digest) and the seal; the file's SHA-256."""
        manifest = {
            **manifest,
            "format": FORMAT,
            "master_key_id": master_key.key_id,
            "parts": [p.__dict__ for p in self._parts],
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        self._tar.addfile(self._info(MANIFEST, len(body)), io.BytesIO(body))
        self._tar.addfile(self._info(SEAL, _SEAL_SIZE), io.BytesIO(bytes(_SEAL_SIZE)))
        self._tar.close()
        self._file.flush()
        self._file.seek(0)
        with tarfile.open(fileobj=self._file, mode="r:") as written:
            offset = _seal_offset(written)
        sha256, mac = _digests(self._file, offset, master_key)
        self._file.seek(offset)
        self._file.write(_seal_bytes(sha256, mac))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._partial, self.path)
        return sha256

    def abort(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


@contextmanager
def write_archive(path: Path, *, mtime: int) -> Iterator[ArchiveWriter]:
    """An :class:`ArchiveWriter` whose partial file goes unless :meth:`finish` was called."""
    if path.exists():
        raise BackupError(f"{path} exists already: a backup never overwrites a file")
    writer = ArchiveWriter(path, mtime=mtime)
    try:
        yield writer
    finally:
        if not path.exists():
            writer.abort()


def _seal_offset(tar: tarfile.TarFile) -> int:
    members = tar.getmembers()
    if not members or members[-1].name != SEAL or members[-1].size != _SEAL_SIZE:
        raise BackupDamaged("not a kyso backup, or a damaged or cut short one (no seal at its end)")
    return members[-1].offset_data


def _digests(f: IO[bytes], seal_offset: int, master_key: MasterKey) -> tuple[str, str]:
    """SHA-256 and HMAC-SHA256 of the whole file, the seal's bytes taken as zeros."""
    sha = hashlib.sha256()
    mac = hmac.new(master_key.derive(_SEAL_PURPOSE), digestmod=hashlib.sha256)
    f.seek(0)
    position = 0
    while chunk := f.read(_CHUNK):
        start, end = position, position + len(chunk)
        if start < seal_offset + _SEAL_SIZE and seal_offset < end:
            data = bytearray(chunk)
            low, high = max(seal_offset, start) - start, min(seal_offset + _SEAL_SIZE, end) - start
            data[low:high] = bytes(high - low)
            chunk = bytes(data)
        sha.update(chunk)
        mac.update(chunk)
        position = end
    return sha.hexdigest(), mac.hexdigest()


@dataclass(frozen=True)
class OpenedBackup:
    """A backup whose seal, master key and manifest have been checked."""

    path: Path
    manifest: dict[str, Any]
    sha256: str
    """The file's digest as sealed (the seal's bytes as zeros), which the backup reported."""
    parts: dict[str, Part]

    def extract_all(self, directory: Path) -> dict[str, Path]:
        """Copy every part below ``directory`` (one pass; files 0600), each checked against
        its digest; the path of each part by name."""
        written: dict[str, Path] = {}
        with tarfile.open(self.path, mode="r:") as tar:
            for member in tar:
                part = self.parts.get(member.name)
                source = tar.extractfile(member) if part is not None else None
                if part is None or source is None:
                    continue
                target = directory / part.name  # names are checked: no "..", no absolute path
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                _copy_checked(source, target, part)
                written[part.name] = target
        if set(written) != set(self.parts):
            raise BackupDamaged("the backup lacks parts its manifest names")
        return written


def _copy_checked(source: IO[bytes], target: Path, part: Part) -> None:
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != part.sha256:
        target.unlink()
        raise BackupDamaged(f"the backup's part {part.name} does not match its digest")


def open_backup(path: Path, master_key: MasterKey) -> OpenedBackup:
    """Check the seal, the master key and the manifest; nothing is written anywhere."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = tar.getmembers()
            offset = _seal_offset(tar)
            names = [m.name for m in members]
            seal_raw = tar.extractfile(SEAL).read()  # type: ignore[union-attr]
            manifest_raw = tar.extractfile(MANIFEST).read()  # type: ignore[union-attr]
    except (tarfile.TarError, KeyError, AttributeError, EOFError) as exc:
        raise BackupDamaged(
            f"{path} is not a readable kyso backup (damaged, or another kind of file): {exc}"
        ) from None
    except OSError as exc:
        raise BackupDamaged(f"{path} cannot be read: {exc.strerror}") from None
    try:
        seal = json.loads(seal_raw)
        expected_sha, expected_mac = str(seal["sha256"]), str(seal["hmac_sha256"])
        if seal_raw != _seal_bytes(expected_sha, expected_mac):  # every byte of it, too
            raise ValueError("not the seal's own form")
    except (ValueError, KeyError, TypeError):
        raise BackupDamaged("the backup's seal is unreadable: the file was altered") from None
    with path.open("rb") as f:
        sha256, mac = _digests(f, offset, master_key)
    if not hmac.compare_digest(sha256, expected_sha):
        raise BackupDamaged(
            f"the backup file was altered or damaged since it was made: its SHA-256 is {sha256}, "
            f"its seal says {expected_sha}. Nothing was restored; use another copy"
        )
    try:
        manifest = json.loads(manifest_raw)
        if manifest.get("format") != FORMAT:
            raise BackupDamaged(f"unknown backup format {manifest.get('format')!r}")
        made_under = str(manifest["master_key_id"])
        parts = {
            p["name"]: Part(p["name"], int(p["bytes"]), p["sha256"]) for p in manifest["parts"]
        }
    except (ValueError, KeyError, TypeError):
        raise BackupDamaged("the backup's manifest is unreadable") from None
    if made_under != master_key.key_id:
        raise BackupFromAnotherMasterKey(
            f"this backup was made under master key {made_under}, and the master key given is "
            f"{master_key.key_id}: its keys would not open. Rebuild that instance's master key "
            "from its shares (kyso admin master-key combine). Nothing was restored"
        )
    if not hmac.compare_digest(mac, expected_mac):
        raise BackupDamaged(
            "the backup's seal does not verify under this master key: it was altered by someone "
            "without the master key. Nothing was restored"
        )
    if sorted(names) != sorted([*parts, MANIFEST, SEAL]) or len(set(names)) != len(names):
        raise BackupDamaged("the backup's members differ from those its manifest names")
    bad = [name for name in parts if not _PART_NAME.match(name)]
    if bad:
        raise BackupDamaged(f"the backup names invalid parts: {bad[:3]}")
    return OpenedBackup(path=path, manifest=manifest, sha256=sha256, parts=parts)
