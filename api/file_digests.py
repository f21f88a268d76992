"""Uploads copied to our own file while hashed, and the digest of what was signed from them.

A signature is an incremental update: the signed file is the upload's bytes, unchanged, then the
update. Its SHA-256 is the upload's digest carried on over the appended part, not a second
pass over the whole file (for a 100 MB document that pass was 76 ms, inside the transaction).
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "FileReceiver",
    "ReceivedFile",
    "file_sha256",
    "receive",
    "signed_sha256",
    "upload_folder",
]

_CHUNK = 1024 * 1024
_SEAM = 4096


@dataclass(frozen=True)
class ReceivedFile:
    """An upload as kept: where, how long, and its running SHA-256 at its end."""

    path: Path
    size: int
    digest: hashlib._Hash

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


class FileReceiver:
    """Writes pieces of a file as they arrive, hashing them, in writes of about 1 MiB."""

    def __init__(self, destination: Path) -> None:
        self._path = destination
        self._out = destination.open("wb")
        self._digest = hashlib.sha256()
        self._size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0

    def add(self, piece: bytes) -> bool:
        """Take a piece (hashed at once); True when about 1 MiB waits for :meth:`flush`."""
        self._digest.update(piece)
        self._size += len(piece)
        self._pending.append(piece)
        self._pending_size += len(piece)
        return self._pending_size >= _CHUNK

    def write(self, piece: bytes) -> None:
        """Take a piece, writing what waits when it reaches about 1 MiB."""
        if self.add(piece):
            self.flush()

    def flush(self) -> None:
        """Write the pieces taken so far."""
        self._out.write(b"".join(self._pending))
        self._pending.clear()
        self._pending_size = 0

    def finish(self) -> ReceivedFile:
        """The file, complete and closed."""
        self.flush()
        self._out.close()
        return ReceivedFile(self._path, self._size, self._digest)

    def close(self) -> None:
        """Stop writing (the file stays as far as it got: its folder is removed by the caller)."""
        self._out.close()


def receive(source: BinaryIO, destination: Path) -> ReceivedFile:
    """Copy ``source`` to ``destination``, hashing it on the way."""
    receiver = FileReceiver(destination)
    try:
        while chunk := source.read(_CHUNK):
            receiver.write(chunk)
        return receiver.finish()
    finally:
        receiver.close()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def signed_sha256(original: ReceivedFile, signed: Path) -> str:
    """SHA-256 of ``signed``, an incremental update of ``original``: the original's digest goes
    on over the appended bytes. Where the seam does not match (the signer rewrote the original),
    the whole file is hashed."""
    with original.path.open("rb") as before, signed.open("rb") as after:
        seam = max(0, original.size - _SEAM)
        before.seek(seam)
        after.seek(seam)
        if original.size > signed.stat().st_size or before.read() != after.read(
            original.size - seam
        ):
            return file_sha256(signed)
        digest = original.digest.copy()
        while chunk := after.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def upload_folder(uploads: Path) -> Iterator[Path]:
    """A private folder under ``uploads`` for one request's files, removed with them."""
    work = uploads / uuid.uuid4().hex
    work.mkdir(mode=0o700)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
