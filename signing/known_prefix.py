"""An in-place signature's document digest goes on from the upload's own SHA-256.

A document signed in place is the upload with a revision appended, and the upload was hashed
while it arrived (its digest is kept with the record). pyHanko digests the signed byte ranges
from the first byte: for a 100 MB scan that is a second SHA-256 pass over 100 MB. Given the
running SHA-256 of the upload's first ``length`` bytes, the byte-range digest starts from a
copy of it and skips those bytes as pyHanko reads them, so only the appended revision is
hashed again.

pyHanko makes that digest with ``hashes.Hash`` in ``pyhanko.sign.signers.pdf_byterange``; that
module is given a ``hashes`` whose ``Hash`` takes the prefix set for the current thread, once.
Without a prefix (or for another algorithm) it is cryptography's own ``Hash``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from pyhanko.sign.signers import pdf_byterange

__all__ = ["KnownPrefix", "continuing"]


@dataclass(frozen=True)
class KnownPrefix:
    """The running SHA-256 over the first ``length`` bytes of the file signed in place."""

    digest: hashlib._Hash
    length: int


_pending = threading.local()


class _DigestGoingOn:
    """``hashes.Hash`` for pyHanko's byte-range digest: from the thread's prefix when one is
    set (and the algorithm is SHA-256), else cryptography's."""

    def __init__(self, algorithm: hashes.HashAlgorithm, backend: Any = None) -> None:
        prefix: KnownPrefix | None = getattr(_pending, "prefix", None)
        _pending.prefix = None  # once: the signature's digest, not a later time-stamp's
        self._own: Any = None
        self._going_on: Any = None
        self._skip = 0
        if prefix is not None and algorithm.name == "sha256":
            self._going_on, self._skip = prefix.digest.copy(), prefix.length
        else:
            self._own = hashes.Hash(algorithm)

    def update(self, data: bytes) -> None:
        if self._own is not None:
            self._own.update(data)
            return
        if self._skip:
            view = memoryview(data)
            if len(view) <= self._skip:
                self._skip -= len(view)
                return
            data, self._skip = view[self._skip :], 0  # type: ignore[assignment]
        self._going_on.update(data)

    def finalize(self) -> bytes:
        if self._own is not None:
            return bytes(self._own.finalize())
        if self._skip:  # fewer bytes were read than the prefix holds: not this file's prefix
            raise ValueError("the byte ranges are shorter than the known prefix")
        return bytes(self._going_on.digest())


class _HashesWithPrefix:
    """cryptography's ``hashes`` module, but for ``Hash``."""

    Hash = _DigestGoingOn

    def __getattr__(self, name: str) -> Any:
        return getattr(hashes, name)


pdf_byterange.hashes = _HashesWithPrefix()  # type: ignore[attr-defined,assignment]


@contextmanager
def continuing(prefix: KnownPrefix | None) -> Iterator[None]:
    """While signing in place in this thread: the byte-range digest goes on from ``prefix``."""
    _pending.prefix = prefix
    try:
        yield
    finally:
        _pending.prefix = None
