"""Whether a SQLite database in WAL mode has seen a commit, at the cost of a memory read.

In WAL mode every commit, by any connection of any process, rewrites the header of the
database's wal-index (the ``-shm`` file beside it, shared memory that every connection maps):
its change counter ``iChange`` goes up, and ``mxFrame``, the last committed frame, moves; a
checkpoint that restarts the log changes its salts. Readers find what is committed from that
header, so a commit is visible exactly when the header has changed (the format is SQLite's
documented file format: https://www.sqlite.org/walformat.html, "The WAL-Index Header").

:class:`WalIndexStamp` maps that file read-only and returns the header's first copy as bytes:
two equal stamps mean nothing was committed between them. A header read while it is being
rewritten is a third value, never the old one with a commit behind it, so a torn read can only
make a reader look again. The ``-shm`` file lives while a connection to the database is open:
open the stamp after a connection of the caller's has read the database, and keep that
connection open while the stamp is used (:class:`certs.revocation.KeptConnectionRevocationSource`
does both).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

__all__ = ["WalIndexStamp"]

_HEADER_BYTES = 48
"""One copy of the WalIndexHdr: iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame,
nPage, aFrameCksum, aSalt, aCksum."""


class WalIndexStamp:
    """The committed state of one SQLite database in WAL mode, as its wal-index header bytes."""

    def __init__(self, database: Path) -> None:
        shm = database.with_name(database.name + "-shm")
        fd = os.open(shm, os.O_RDONLY)
        try:
            if os.fstat(fd).st_size < _HEADER_BYTES:
                raise OSError(f"{shm} holds no wal-index header yet")
            self._map = mmap.mmap(fd, _HEADER_BYTES, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)

    def stamp(self) -> bytes:
        """The header as it is now: equal to an earlier stamp when nothing was committed since."""
        return self._map[:_HEADER_BYTES]

    def close(self) -> None:
        self._map.close()
