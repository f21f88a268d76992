"""``kyso admin backup``: one consistent backup of a running instance, sealed under its master key.

What it holds: the database as one transaction saw it, the key store's sealed keys (whatever the
store says it keeps), the signed documents still kept for the signatures of that snapshot, the
settings that shape the service, and a manifest (versions, schema revision, rows per table,
balances, the audit chain's head, the last signature's time, each part's digest). What it never
holds: a clear key, or the master key, without which it is useless.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from api.bootstrap import Runtime
from api.database import unit_of_work
from api.settings import Settings
from api.usecases.backup_archive import ArchiveWriter, write_archive
from api.usecases.backup_database import DatabaseSnapshot, snapshot_database
from api.usecases.backup_errors import BackupError, BackupNotRestorable
from identity.audit import record_audit
from signing.storage import DocumentStore

__all__ = ["BackupReport", "kyso_version", "make_backup", "recorded_settings"]

_NOT_RECORDED = {"data_dir", "database_url", "master_key"}
"""Where the instance lives (the restore says where it goes) and the secrets."""


def kyso_version() -> str:
    try:
        return version("kyso")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def recorded_settings(settings: Settings) -> dict[str, Any]:
    """The settings that shape the service, as ``KYSO_*`` names, without secrets or places."""
    dumped = settings.model_dump(mode="json")
    return {
        f"KYSO_{name.upper()}": value
        for name, value in sorted(dumped.items())
        if name not in _NOT_RECORDED and not isinstance(getattr(settings, name), SecretStr)
    }


@dataclass(frozen=True)
class BackupReport:
    """What was written, for the operator and for the audit log."""

    path: Path
    bytes: int
    sha256: str
    backup_id: str
    snapshot: DatabaseSnapshot
    keys: int
    documents: int
    documents_missing: int
    seconds: float
    warnings: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        described, ledger = self.snapshot.described, self.snapshot.ledger
        return {
            "backup": str(self.path),
            "bytes": self.bytes,
            "sha256": self.sha256,
            "backup_id": self.backup_id,
            "made_at": self.snapshot.taken_at.isoformat(),
            "database": {
                "backend": self.snapshot.backend,
                "server": self.snapshot.server_version,
                "tool": self.snapshot.tool,
                "schema_revision": ledger.schema_revision,
            },
            "root_sha256": described.root_sha256,
            "audit_head": {"seq": ledger.audit_head_seq, "hash": ledger.audit_head_hash},
            "last_signature_at": (
                described.last_signature_at.isoformat() if described.last_signature_at else None
            ),
            "signatures": ledger.rows.get("signature", 0),
            "certificates": ledger.rows.get("issued_certificate", 0),
            "accounts": ledger.accounts,
            "keys": self.keys,
            "documents": self.documents,
            "documents_missing": self.documents_missing,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
        }


def _add_documents(
    writer: ArchiveWriter, store: DocumentStore, signature_ids: tuple[str, ...]
) -> tuple[int, int]:
    """The kept signed documents of the snapshot's signatures; (copied, gone meanwhile)."""
    copied = missing = 0
    for signature_id in signature_ids:
        try:
            fd = os.open(store.path(signature_id), os.O_RDONLY)
        except FileNotFoundError:  # purged since the snapshot (or lost before it)
            missing += 1
            continue
        with os.fdopen(fd, "rb") as f:
            writer.add_stream(f"documents/{signature_id}.pdf", f, os.fstat(fd).st_size)
        copied += 1
    return copied, missing


def make_backup(runtime: Runtime, *, out: Path, documents: bool = True, actor: str) -> BackupReport:
    """Write a sealed backup of the running instance to ``out`` (a new file, mode 0600)."""
    started = time.monotonic()
    settings = runtime.settings
    backup_id = uuid.uuid4().hex
    out = out.resolve()
    if out.exists():
        raise BackupError(f"{out} exists already: a backup never overwrites a file")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory: create it first")
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".kyso-backup-") as work:
        snapshot = snapshot_database(
            settings, runtime.engine, Path(work), lambda: datetime.now(UTC)
        )
        described = snapshot.described
        kept = runtime.keystore.kept()
        missing_keys = set(described.key_ids) - set(kept.sealed) - set(kept.held_elsewhere)
        if missing_keys:
            raise BackupNotRestorable(
                f"the key store lacks keys the database names ({', '.join(sorted(missing_keys))}):"
                " a backup without them could not be restored. Is this the server's key store?"
            )
        if not described.audit_intact:
            warnings.append(
                f"the audit chain is broken ({described.audit_problem}): this backup keeps the "
                "evidence, and a restore of it will be refused"
            )
        with write_archive(out, mtime=int(snapshot.taken_at.timestamp())) as writer:
            writer.add_file(snapshot.part_name, snapshot.path)
            for key_id, sealed in sorted(kept.sealed.items()):
                writer.add_bytes(f"keys/{key_id}.key", sealed)
            store = DocumentStore(settings.documents_dir)
            copied, gone = (
                _add_documents(writer, store, described.kept_documents) if documents else (0, 0)
            )
            manifest = {
                "backup_id": backup_id,
                "made_at": snapshot.taken_at.isoformat(),
                "kyso_version": kyso_version(),
                "python": platform.python_version(),
                "database": {
                    "backend": snapshot.backend,
                    "server": snapshot.server_version,
                    "tool": snapshot.tool,
                    "part": snapshot.part_name,
                },
                "ledger": snapshot.ledger.as_json(),
                "root_sha256": described.root_sha256,
                "last_signature_at": (
                    described.last_signature_at.isoformat() if described.last_signature_at else None
                ),
                "audit": {"intact": described.audit_intact, "problem": described.audit_problem},
                "key_store": {
                    "store": kept.store,
                    "sealed": sorted(kept.sealed),
                    "held_elsewhere": list(kept.held_elsewhere),
                    "named_by_database": list(described.key_ids),
                },
                "documents": {"included": documents, "copied": copied, "gone": gone},
                "settings": recorded_settings(settings),
            }
            sha256 = writer.finish(manifest, runtime.master_key)
    if gone:
        warnings.append(f"{gone} kept document(s) were purged or missing: not in the backup")
    report = BackupReport(
        path=out,
        bytes=out.stat().st_size,
        sha256=sha256,
        backup_id=backup_id,
        snapshot=snapshot,
        keys=len(kept.sealed),
        documents=copied,
        documents_missing=gone,
        seconds=time.monotonic() - started,
        warnings=tuple(warnings),
    )
    with unit_of_work(runtime.engine) as session:
        record_audit(
            session,
            at=datetime.now(UTC),
            actor=actor,
            action="backup.create",
            target=backup_id,
            sha256=sha256,
            made_at=snapshot.taken_at.isoformat(),
            audit_head_seq=snapshot.ledger.audit_head_seq,
            signatures=snapshot.ledger.rows.get("signature", 0),
        )
    return report
