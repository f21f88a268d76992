"""Whether a SQLite database in WAL mode has seen a commit, at the cost of a memory read.

In WAL mode every commit, by any connection of any process, rewrites the header of the
database's wal-index (the ``-shm`` file beside it, shared memory that every connection maps):
its change counter ``iChange`` goes up, and ``mxFrame``, the last committed frame, moves; a
checkpoint that restarts the log changes its salts. Readers find what is committed from that
header, so a commit is visible exactly when the header has changed (the format is SQLite's
documented file format: https://www.sqlite.org/walformat.html, "The WAL-Index Header").

:func:`wal_index_stamp` maps that file read-only and :meth:`WalIndexStamp.stamp` returns the
header's first copy as bytes: two equal stamps mean nothing was committed between them. A
header read while it is being rewritten is a third value, never the old one with a commit
behind it, so a torn read can only make a reader look again.

Two rules keep this safe for SQLite:

- **Nothing here ever closes the file.** SQLite coordinates the processes sharing the
  wal-index with POSIX record locks on it, and closing *any* descriptor of a file drops every
  such lock the process holds on it (SQLite's "How To Corrupt", 2.2): another process could
  then believe it is alone, and truncate and rebuild the wal-index under this one. The
  descriptor and the mapping are kept for the life of the process, one per ``-shm`` file (its
  device and inode), and reused.
- **Read a stamp only while a connection of this process to the database is open and has
  read**: then the ``-shm`` file is initialised and no other process may truncate it (this
  process's SQLite holds its shared lock), so the mapped header is there to read.
  :class:`certs.revocation.KeptConnectionRevocationSource` does both.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path

__all__ = ["WalIndexStamp", "wal_index_stamp"]

_HEADER_BYTES = 48
"""One copy of the WalIndexHdr: iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame,
nPage, aFrameCksum, aSalt, aCksum."""


class WalIndexStamp:
    """The committed state of one SQLite database in WAL mode, as its wal-index header bytes."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor  # kept open: see the module's first rule
        self._map = mmap.mmap(descriptor, _HEADER_BYTES, mmap.MAP_SHARED, mmap.PROT_READ)

    def stamp(self) -> bytes:
        """The header as it is now: equal to an earlier stamp when nothing was committed since."""
        return self._map[:_HEADER_BYTES]


_STAMPS: dict[tuple[int, int], WalIndexStamp] = {}
_STAMPS_LOCK = threading.Lock()


def wal_index_stamp(database: Path) -> WalIndexStamp | None:
    """The stamp of ``database``'s wal-index, this process's one for that file; None when it
    has none yet (not in WAL mode, or not read in WAL mode by a connection of this process)."""
    shm = database.with_name(database.name + "-shm")
    with _STAMPS_LOCK:
        try:
            found = os.stat(shm)
        except OSError:
            return None
        key = (found.st_dev, found.st_ino)
        kept = _STAMPS.get(key)
        if kept is not None:
            return kept
        if found.st_size < _HEADER_BYTES:
            return None
        descriptor = os.open(shm, os.O_RDONLY | os.O_CLOEXEC)
        if os.fstat(descriptor).st_ino != found.st_ino:  # replaced in between: kept, unused
            return None
        kept = _STAMPS[key] = WalIndexStamp(descriptor)
        return kept
