"""Backups seen from outside kyso: read with stock tools, and (for tests of the refusals that
only a newer or dishonest kyso could provoke) re-sealed with the master key."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.usecases.backup_archive import open_backup, write_archive
from certs.masterkey import MasterKey
from tests.support.databases import fresh_database
from tests.support.server import KYSO, require_tool


def unpack(backup: Path, directory: Path) -> dict[str, Path]:
    """Every member of the backup, extracted by stock ``tar``, by name."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run([require_tool("tar"), "-xf", str(backup), "-C", str(directory)], check=True)
    return {str(p.relative_to(directory)): p for p in directory.rglob("*") if p.is_file()}


@contextmanager
def backup_database(backup: Path, backend: str, directory: Path) -> Iterator[str]:
    """A database URL holding the backup's database, loaded by gzip or by ``pg_restore`` (not
    by kyso's restore), for comparisons with what kyso restored."""
    members = unpack(backup, directory / "unpacked")
    if backend == "sqlite":
        database = directory / "backup.db"
        with gzip.open(members["database/kyso.db.gz"]) as packed, database.open("wb") as out:
            shutil.copyfileobj(packed, out)
        yield f"sqlite:///{database}"
        return
    with fresh_database("postgresql", directory) as url:
        subprocess.run(
            [require_tool("pg_restore"), "--no-owner", "--no-privileges", f"--dbname={url}",
             str(members["database/kyso.pgdump"])],
            check=True, capture_output=True,
        )  # fmt: skip
        yield url


def reseal(
    source: Path,
    target: Path,
    master_key: MasterKey,
    *,
    manifest: Callable[[dict[str, Any]], None] = lambda m: None,
    parts: Callable[[dict[str, Path]], None] = lambda p: None,
) -> Path:
    """A copy of a backup with its manifest or parts edited, sealed again under the master key:
    what only a newer kyso (or the key's holder) could write."""
    opened = open_backup(source, master_key)
    with tempfile.TemporaryDirectory() as work:
        extracted = opened.extract_all(Path(work))
        parts(extracted)
        edited = {k: v for k, v in opened.manifest.items() if k not in ("parts", "format")}
        manifest(edited)
        with write_archive(target, mtime=0) as writer:
            for name, path in extracted.items():
                writer.add_file(name, path)
            writer.finish(edited, master_key)
    return target


def combine(env: dict[str, str], shares: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``kyso admin master-key combine`` with the shares typed on its standard input."""
    return subprocess.run(
        [KYSO, "admin", "master-key", "combine", *args], env=env, input="\n".join(shares) + "\n",
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def split(env: dict[str, str], shares: int = 5, threshold: int = 3) -> dict[str, Any]:
    result = subprocess.run(
        [KYSO, "admin", "master-key", "split", "--shares", str(shares),
         "--threshold", str(threshold), "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    printed: dict[str, Any] = json.loads(result.stdout)
    return printed
