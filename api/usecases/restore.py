"""``kyso admin restore``: a backup back into an empty data directory and database, as the same CA.

Before anything is written: the seal (any byte changed), the master key (the one that sealed it),
the schema (not newer than this kyso's), the backend, and that the target is empty. Then, under
the start-up lock (a ``kyso serve`` starting meanwhile waits), every part goes into a staging
directory inside the data directory, each sealed key must open under the master key, the
database is loaded (SQLite: into the staging directory; PostgreSQL: ``pg_restore`` in one
transaction), its rows, balances, usage counters and audit head must equal the manifest's, it
is migrated when older, its audit chain must verify, and its CA must load with the restored keys
and have the backup's root. Only then do the files move into place. A refusal at any step leaves
the data directory and the database as they were (a PostgreSQL database written into is emptied
again).

After a restore, what happened after the backup is gone: the report says so with the audit
chain's head and the last signature's time; fresh CRLs are published with numbers above any the
lost instance may have published since (RFC 5280 wants them increasing).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives import hashes
from sqlalchemy import Engine
from sqlmodel import Session, func, select

import migrations
from api.bootstrap import open_key_custody, pki_urls
from api.database import make_engine, migrate, startup_lock, unit_of_work
from api.settings import Settings
from api.usecases.backup import recorded_settings
from api.usecases.backup_archive import OpenedBackup, open_backup
from api.usecases.backup_database import (
    POSTGRESQL_PART,
    SQLITE_PART,
    database_is_empty,
    drop_everything,
    restore_postgresql,
    sqlite_path,
    unpack_sqlite,
)
from api.usecases.backup_errors import (
    BackupNotRestorable,
    NewerSchema,
    RestoreTargetNotEmpty,
)
from api.usecases.backup_facts import LedgerFacts, ledger_facts
from certs.authority import Authority, load_authority
from certs.crl import publish_crl
from certs.errors import MasterKeyError
from certs.keystore import FileKeyStore, KeyStore
from certs.masterkey import MasterKey, load_master_key
from certs.models import RevocationList
from identity.audit import record_audit, verify_audit_chain

__all__ = ["RestoreReport", "restore_backup"]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_REPORTED_TABLES = (
    "signature",
    "issued_certificate",
    "credential",
    "usage_event",
    "wallet_entry",
    "billing_account",
    "audit_log",
)
_MAY_BE_THERE = {"master.key", ".startup.lock"}
"""What an "empty" data directory may hold: the master key rebuilt from its shares, the lock."""


def _vietnam(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S Vietnam time (UTC+7)")


def _restore_master_key(settings: Settings) -> MasterKey:
    env_value = settings.master_key.get_secret_value() if settings.master_key else None
    if env_value is None and not settings.master_key_path.exists():
        raise MasterKeyError(
            f"no master key: rebuild it from its shares first (kyso admin master-key combine "
            f"writes {settings.master_key_path}, or prints it for KYSO_MASTER_KEY); a restore "
            "never makes a new one"
        )
    return load_master_key(env_value=env_value, path=settings.master_key_path)


def _check_schema(revision: str) -> str:
    """This kyso's head; ``NewerSchema`` when the backup's revision is unknown here."""
    scripts = ScriptDirectory(str(Path(migrations.__file__).parent))
    known = {script.revision for script in scripts.walk_revisions()}
    head = str(scripts.get_current_head())
    if revision not in known:
        raise NewerSchema(
            f"this backup's database schema is revision {revision}, which this kyso does not "
            f"know (it knows up to {head}): it was made by a newer kyso. Restore it with that "
            "version or a later one. Nothing was restored"
        )
    return head


def _check_target_empty(settings: Settings, engine: Engine) -> None:
    data_dir = settings.data_dir
    if data_dir.exists():
        extra = sorted(p.name for p in data_dir.iterdir() if p.name not in _MAY_BE_THERE)
        if extra:
            raise RestoreTargetNotEmpty(
                f"the data directory {data_dir.resolve()} is not empty ({', '.join(extra[:5])}): "
                "a restore goes into an empty one (only master.key may be there). Nothing was "
                "restored"
            )
    empty, where = database_is_empty(settings, engine)
    if not empty:
        raise RestoreTargetNotEmpty(
            f"{where} is not empty: a restore goes into an empty database (create a new one, "
            "or drop this one's tables if it is the lost instance's). Nothing was restored"
        )


def _check_backend(engine: Engine, backend: str) -> None:
    here = engine.dialect.name
    if backend != here:
        raise BackupNotRestorable(
            f"this backup holds a {backend} database and KYSO_DATABASE_URL points at {here}: "
            "restore it into the same kind of database. Nothing was restored"
        )


def _put_keys(store: KeyStore, opened: OpenedBackup, parts: dict[str, Path]) -> int:
    """Each sealed key into the store (it must open under the master key); the HSM's keys
    must be in the token already."""
    count = 0
    for name, path in sorted(parts.items()):
        if name.startswith("keys/") and name.endswith(".key"):
            store.put_sealed(name.removeprefix("keys/").removesuffix(".key"), path.read_bytes())
            count += 1
    absent = [k for k in opened.manifest["key_store"]["held_elsewhere"] if not store.exists(k)]
    if absent:
        raise BackupNotRestorable(
            f"keys held in the HSM are not in this one ({', '.join(absent[:5])}): restore the "
            "HSM's own backup first. Nothing was restored"
        )
    return count


def _check_database(engine: Engine, expected: LedgerFacts) -> None:
    with engine.connect() as connection:
        found = ledger_facts(connection)
    differences = expected.differences(found)
    if differences:
        raise BackupNotRestorable(
            "the restored database differs from what the backup's manifest states: "
            + "; ".join(differences[:5])
            + ". Nothing was restored"
        )


def _check_authority(engine: Engine, store: KeyStore, root_sha256: str) -> Authority:
    with Session(engine) as session:
        verdict = verify_audit_chain(session)
        if not verdict.intact:
            raise BackupNotRestorable(
                f"the backup's audit chain does not verify ({verdict.problem}). Nothing was "
                "restored; keep this backup as evidence"
            )
        authority = load_authority(session, store)
    found = authority.root.fingerprint(hashes.SHA256()).hex(":").upper()
    if found != root_sha256:
        raise BackupNotRestorable(
            f"the restored root CA ({found}) is not the backup's ({root_sha256}). Nothing was "
            "restored"
        )
    return authority


def _after_restore(
    engine: Engine,
    settings: Settings,
    authority: Authority,
    opened: OpenedBackup,
    *,
    actor: str,
    now: datetime,
) -> tuple[dict[str, int], int]:
    """Fresh CRLs numbered past the lost instance's, and the restore in the audit log."""
    made_at = datetime.fromisoformat(opened.manifest["made_at"])
    skip = max(0, int((now - made_at).total_seconds()))  # one CRL a second since the backup
    numbers: dict[str, int] = {}
    with unit_of_work(engine) as session:
        for issuer, certificate, key in (
            ("root", authority.root, authority.root_key()),
            ("issuing", authority.issuing, authority.issuing_key),
        ):
            latest = session.exec(
                select(func.max(RevocationList.number)).where(RevocationList.issuer == issuer)
            ).one()
            numbers[issuer] = publish_crl(
                session,
                issuer=issuer,
                issuer_certificate=certificate,
                issuer_key=key,
                now=now,
                policy=settings.crl_policy,
                number_at_least=(latest or 0) + 1 + skip,
            ).number
        event = record_audit(
            session,
            at=now,
            actor=actor,
            action="backup.restore",
            target=opened.manifest["backup_id"],
            sha256=opened.sha256,
            made_at=opened.manifest["made_at"],
            audit_head_seq=opened.manifest["ledger"]["audit_head_seq"],
            crl_numbers=numbers,
        )
    return numbers, event.seq


def _remove_what_was_not_there(data_dir: Path, there_before: set[str] | None) -> None:
    """A refused restore leaves the data directory as it found it (or absent)."""
    if there_before is None:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for name in set(os.listdir(data_dir)) - there_before:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _staging_store(
    settings: Settings, staging: Path, master_key: MasterKey, manifest: dict[str, Any]
) -> KeyStore:
    """Where the backup's keys go back: beside the staged database for the file store, the
    configured token (restored by the HSM's own backup) for PKCS#11."""
    kind = manifest["key_store"]["store"]
    if kind != settings.keystore:
        raise BackupNotRestorable(
            f"this backup's keys were kept by a {kind} key store and KYSO_KEYSTORE is "
            f"{settings.keystore}: restore into the same kind of key store. Nothing was restored"
        )
    if kind == "file":
        return FileKeyStore(staging / "keys", master_key)
    return open_key_custody(settings, master_key).keystore


def _move_into_place(staging: Path, settings: Settings, database: Path | None) -> None:
    if database is not None:
        target = sqlite_path(settings)
        for suffix in ("", "-wal", "-shm"):
            staged = Path(f"{database}{suffix}")
            if staged.exists():
                shutil.move(staged, f"{target}{suffix}")
    if (staging / "keys").is_dir():  # a token's keys stay in the token
        (staging / "keys").rename(settings.keystore_dir)
    documents = staging / "backup" / "documents"
    if documents.is_dir():
        documents.rename(settings.documents_dir)


def _notice(made_at: datetime, last_at: datetime | None, audit_seq: int) -> str:
    last = (
        f"The last signature it holds was made {_vietnam(last_at)}"
        if last_at
        else "It holds no signature"
    )
    return (
        f"Everything done after the backup ({_vietnam(made_at)}) is gone: signatures, charges, "
        f"top-ups, certificates issued and revocations. {last}; its audit chain ends at record "
        f"{audit_seq}. Certificates issued since are unknown to OCSP; revoke again any "
        "certificate revoked since."
    )


@dataclass(frozen=True)
class RestoreReport:
    """What the operator must know after a restore."""

    facts: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return self.facts


def _settings_differences(settings: Settings, recorded: dict[str, Any]) -> list[dict[str, Any]]:
    now = recorded_settings(settings)
    return [
        {"setting": name, "backup": value, "now": now.get(name)}
        for name, value in sorted(recorded.items())
        if now.get(name) != value
    ]


def restore_backup(settings: Settings, *, source: Path, actor: str) -> RestoreReport:
    """Restore ``source`` into the empty data directory and database ``settings`` name."""
    started = time.monotonic()
    master_key = _restore_master_key(settings)
    opened = open_backup(source, master_key)
    manifest = opened.manifest
    head = _check_schema(str(manifest["ledger"]["schema_revision"]))
    expected = LedgerFacts.from_json(manifest["ledger"])
    if not manifest["audit"]["intact"]:
        raise BackupNotRestorable(
            f"the backup's audit chain does not verify ({manifest['audit']['problem']}). "
            "Nothing was restored; keep this backup as evidence"
        )
    engine = make_engine(settings.sqlalchemy_url)
    _check_backend(engine, manifest["database"]["backend"])
    there_before = set(os.listdir(settings.data_dir)) if settings.data_dir.exists() else None
    wrote_database = False
    try:
        _check_target_empty(settings, engine)
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with startup_lock(engine, settings.data_dir):
            _check_target_empty(settings, engine)  # again, now that no server can start
            staging = Path(tempfile.mkdtemp(dir=settings.data_dir, prefix=".restore-"))
            try:
                parts = opened.extract_all(staging / "backup")
                store = _staging_store(settings, staging, master_key, manifest)
                keys = _put_keys(store, opened, parts)
                staged_db: Path | None = None
                if manifest["database"]["backend"] == "sqlite":
                    staged_db = staging / "kyso.db"
                    unpack_sqlite(parts[SQLITE_PART], staged_db)
                    database = make_engine(f"sqlite:///{staged_db}")
                else:
                    wrote_database = True
                    restore_postgresql(
                        engine, parts[POSTGRESQL_PART], dumped_by=manifest["database"]["tool"]
                    )
                    database = engine
                try:
                    _check_database(database, expected)
                    migrate(database)
                    authority = _check_authority(database, store, manifest["root_sha256"])
                    crl_numbers, restore_seq = _after_restore(
                        database, settings, authority, opened, actor=actor, now=datetime.now(UTC)
                    )
                finally:
                    if database is not engine:
                        database.dispose()
                _move_into_place(staging, settings, staged_db)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        if wrote_database:
            drop_everything(engine)
        _remove_what_was_not_there(settings.data_dir, there_before)
        raise
    finally:
        engine.dispose()
    made_at = datetime.fromisoformat(manifest["made_at"])
    last = manifest["last_signature_at"]
    last_at = datetime.fromisoformat(last) if last else None
    return RestoreReport(
        {
            "restored": True,
            "from": str(source.resolve()),
            "sha256": opened.sha256,
            "backup_id": manifest["backup_id"],
            "backup_made_at": manifest["made_at"],
            "data_dir": str(settings.data_dir.resolve()),
            "database": manifest["database"]["backend"],
            "root_sha256": manifest["root_sha256"],
            "public_url": pki_urls(settings, authority).base,
            "audit_head": {
                "seq": expected.audit_head_seq,
                "hash": expected.audit_head_hash,
                "restore_recorded_as": restore_seq,
            },
            "last_signature_at": last,
            "notice": _notice(made_at, last_at, expected.audit_head_seq),
            "schema": {"backup": expected.schema_revision, "now": head},
            "rows": {name: expected.rows.get(name, 0) for name in _REPORTED_TABLES},
            "balance_total": expected.balance_total,
            "keys": keys,
            "documents": sum(1 for name in parts if name.startswith("documents/")),
            "crl_numbers": crl_numbers,
            "settings_differ": _settings_differences(settings, manifest["settings"]),
            "seconds": round(time.monotonic() - started, 3),
        }
    )
