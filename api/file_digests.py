"""Uploads copied to our own file while hashed, and the digest of what was signed from them.

A signature is an incremental update: the signed file is the upload's bytes, unchanged, then the
update. Its SHA-256 is the upload's digest carried on over the appended part, not a second
pass over the whole file (for a 100 MB document that pass was 76 ms, inside the transaction).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["ReceivedFile", "file_sha256", "receive", "signed_sha256"]

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


def receive(source: BinaryIO, destination: Path) -> ReceivedFile:
    """Copy ``source`` to ``destination``, hashing it on the way."""
    digest = hashlib.sha256()
    size = 0
    with destination.open("wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return ReceivedFile(destination, size, digest)


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
