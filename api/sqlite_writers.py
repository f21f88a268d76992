"""Writers to one SQLite file take turns promptly.

A SQLite write transaction (``BEGIN IMMEDIATE``) that finds another one running waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms
between tries: a writer whose turn came after 3 ms sleeps on to 8, one that has waited 100 ms
rechecks ten times a second. Under steady signing from two worker processes the write lock sat
free while its next holder slept (7 % of a worker's sampled time under signing load was
``BEGIN IMMEDIATE``; with turns, about 12 % more signatures per second, bench/README.md).
Here each writer first takes this process's lock (threads wake as soon as it is free) and
then an exclusive ``flock`` on a file beside the database (processes too), so
``BEGIN IMMEDIATE`` almost never waits. A thread that opens a unit of work inside its own
keeps its turn (as before, SQLite refuses the inner write after its busy timeout).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["WriterTurns", "writer_turns"]


class WriterTurns:
    """The turns of the writers to one SQLite database file, in this process."""

    def __init__(self, database: Path) -> None:
        self._path = database.with_name(database.name + ".writers")
        self._threads = threading.Lock()
        self._held = threading.local()
        self._fd: int | None = None

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        depth: int = getattr(self._held, "depth", 0)
        if depth == 0:
            self._threads.acquire()
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                fcntl.flock(self._file(), fcntl.LOCK_UN)
                self._threads.release()


_TURNS: dict[Path, WriterTurns] = {}
_TURNS_LOCK = threading.Lock()


def writer_turns(database: str | None) -> WriterTurns | None:
    """The turns for a SQLite database file (``None`` for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    with _TURNS_LOCK:
        return _TURNS.setdefault(path, WriterTurns(path))
