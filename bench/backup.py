"""Backup and restore of an instance holding 10,000 signatures, on SQLite and on PostgreSQL.

Each backend gets a fresh installation (``kyso init``), then, in-process and through kyso's
own domain functions rather than 10,000 PAdES signings: ``--citizens`` citizens made by
``identity.accounts.create_user`` (proofed), each with a signing credential made by
``CredentialService.create`` (a key sealed under a PIN) and a wallet topped up by
``billing.wallet.top_up``; then ``--signatures`` signatures, each written as the signing
route writes one: a ``SignatureRecord``, its charge by ``billing.charges.charge`` (usage event,
wallet debit, counters, rollups) and its ``signature.create`` audit record, 200 to a
transaction, the signed document kept in the data directory (``--document-kb`` random bytes:
a one-page B-LT PDF signed by kyso is about 70 KB). ``kyso admin check-ledger`` must then find
the books whole.

Measured, with the real ``kyso`` command (wall time, process start included, and the command's
own figure): ``kyso admin backup`` with and without the documents (its size too), and
``kyso admin restore`` of each into an empty data directory and database. The reference in
the same run is what the plain tools take for the same data: SQLite's online backup API to a
file, or ``pg_dump --format=custom`` and ``pg_restore`` into an empty database, plus ``tar``
of the documents.

Usage: ``python bench/backup.py [--quick] [--json] [--backends sqlite postgresql]``
(``--quick``: 1,000 signatures).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from api.bootstrap import open_runtime
from api.database import unit_of_work
from api.identity_services import build_identity_services
from api.settings import Settings
from api.usecases.payer import lock_payer
from billing.accounts import open_account
from billing.charges import charge
from billing.plans import SIGNATURE_PRODUCTS
from billing.wallet import top_up
from identity.accounts import NewUser, create_user
from identity.audit import record_audit
from identity.cccd import Gender
from identity.models import Role, User
from identity.passwords import Passwords
from signing.models import SignatureRecord

ADMIN_URL = os.environ.get("KYSO_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
KYSO = str(Path(sys.executable).with_name("kyso"))
PIN = "402917"
PASSWORD = "một mật khẩu dài 2026"  # noqa: S105 - the bench's made-up citizens
GIVEN_NAMES = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Minh", "Thảo")
BATCH = 200


@contextmanager
def database(backend: str, data_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{data_dir / 'kyso.db'}"
        return
    name = f"kyso_bench_backup_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(data_dir: Path, url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYSO_")}
    env.update({"KYSO_DATA_DIR": str(data_dir), "KYSO_DATABASE_URL": url, "KYSO_ENV": "test"})
    env.update(extra)
    return env


def kyso(env: dict[str, str], *args: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds and the JSON a ``kyso`` command printed."""
    started = time.perf_counter()
    done = subprocess.run([KYSO, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"kyso {' '.join(args)} failed:\n{done.stderr}")
    printed: dict[str, Any] = json.loads(done.stdout)
    return time.perf_counter() - started, printed


def populate(settings: Settings, *, citizens: int, signatures: int, document_kb: int) -> float:
    """Citizens with credentials and wallets, then the signatures and their charges."""
    started = time.perf_counter()
    runtime = open_runtime(settings, create=False)
    credentials = build_identity_services(runtime).credentials
    passwords = Passwords()
    now = datetime.now(UTC)
    people: list[tuple[User, str]] = []
    with unit_of_work(runtime.engine) as session:
        for n in range(citizens):
            name = f"Nguyễn {GIVEN_NAMES[n // 10 % 10]} {GIVEN_NAMES[n % 10]}"
            user = create_user(
                session, passwords,
                NewUser(email=f"citizen{n}@bench.vn", password=PASSWORD, full_name=name,
                        role=Role.CITIZEN, cccd=f"001090{n:06d}", date_of_birth=date(1990, 1, 1),
                        gender=Gender.MALE),
                now=now, actor="bench", verified=True,
            )  # fmt: skip
            credential = credentials.create(session, user, PIN, now).credential
            open_account(session, user.id, kind="citizen", label=user.email, now=now)
            top_up(session, user.id, amount=4_000 * (signatures // citizens + 1),
                   reference=f"bench-{n}", actor="bench", now=now)  # fmt: skip
            people.append((user, credential.id))
    settings.documents_dir.mkdir(mode=0o700, exist_ok=True)
    document = b"%PDF-1.7\n" + secrets.token_bytes(document_kb * 1024)
    first = now - timedelta(seconds=signatures)
    for start in range(0, signatures, BATCH):
        with unit_of_work(runtime.engine) as session:
            for i in range(start, min(start + BATCH, signatures)):
                user, credential_id = people[i % citizens]
                at = first + timedelta(seconds=i)
                key = uuid.uuid4().hex
                payer = lock_payer(session, user, at)
                record = SignatureRecord(
                    user_id=user.id, credential_id=credential_id, idempotency_key=key,
                    request_sha256=secrets.token_hex(32), level="B-LT", filename=f"don-{i}.pdf",
                    original_sha256=secrets.token_hex(32), signed_sha256=secrets.token_hex(32),
                    signed_size=len(document), created_at=at,
                    retain_until=at + timedelta(days=settings.retention_days),
                )  # fmt: skip
                session.add(record)
                session.flush()
                if document_kb:
                    path = settings.documents_dir / f"{record.id}.pdf"
                    path.write_bytes(document)
                    path.chmod(0o600)
                charge(session, payer, SIGNATURE_PRODUCTS["B-LT"], now=at,
                       signature_id=record.id, idempotency_key=f"{user.id}:{key}")  # fmt: skip
                record_audit(session, at=at, actor=f"user:{user.id}",
                             action="signature.create", target=record.id,
                             credential_id=credential_id, level="B-LT")  # fmt: skip
    runtime.engine.dispose()
    return time.perf_counter() - started


def reference(backend: str, settings: Settings, url: str, work: Path) -> dict[str, float]:
    """What the plain tools take: the database copied out and in, the documents tarred."""
    figures: dict[str, float] = {}
    started = time.perf_counter()
    if backend == "sqlite":
        source, target = sqlite3.connect(settings.database_path), sqlite3.connect(work / "copy.db")
        source.backup(target)
        target.close()
        source.close()
        figures["db_out_s"] = time.perf_counter() - started
        figures["db_mb"] = (work / "copy.db").stat().st_size / 1e6
        started = time.perf_counter()
        shutil.copyfile(work / "copy.db", work / "back.db")
        figures["db_in_s"] = time.perf_counter() - started
    else:
        dump = work / "plain.pgdump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={url}"],
                       check=True)  # fmt: skip
        figures["db_out_s"] = time.perf_counter() - started
        figures["db_mb"] = dump.stat().st_size / 1e6
        with database("postgresql", work) as empty:
            started = time.perf_counter()
            subprocess.run(["pg_restore", "--no-owner", "--single-transaction",
                            f"--dbname={empty}", str(dump)], check=True)  # fmt: skip
            figures["db_in_s"] = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["tar", "-cf", str(work / "documents.tar"), "-C", str(settings.data_dir),
                    "documents"], check=True)  # fmt: skip
    figures["documents_tar_s"] = time.perf_counter() - started
    figures["documents_mb"] = (work / "documents.tar").stat().st_size / 1e6
    for name in ("copy.db", "back.db", "plain.pgdump", "documents.tar"):
        (work / name).unlink(missing_ok=True)
    return figures


def round_trip(
    backend: str, env: dict[str, str], master_key: str, work: Path, *, documents: bool
) -> dict[str, Any]:
    out = work / f"backup-{'docs' if documents else 'nodocs'}.kyso"
    args = ["admin", "backup", "--out", str(out)] + ([] if documents else ["--no-documents"])
    backup_wall, made = kyso(env, *args)
    target = work / f"restored-{out.stem}"
    with database(backend, target) as url:
        restore_env = environment(target, url, KYSO_MASTER_KEY=master_key)
        restore_wall, restored = kyso(restore_env, "admin", "restore", "--from", str(out))
    shutil.rmtree(target, ignore_errors=True)
    size = out.stat().st_size
    out.unlink()
    return {
        "backup_s": round(backup_wall, 2),
        "backup_own_s": made["seconds"],
        "backup_mb": round(size / 1e6, 1),
        "documents": made["documents"],
        "restore_s": round(restore_wall, 2),
        "restore_own_s": restored["seconds"],
    }


def measure(backend: str, options: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"kyso-bench-backup-{backend}-") as folder:
        work = Path(folder)
        data_dir = work / "kyso-data"
        with database(backend, data_dir) as url:
            env = environment(data_dir, url)
            subprocess.run([KYSO, "init"], env=env, check=True, capture_output=True)
            settings = Settings(data_dir=data_dir, database_url=url, env="test")
            populated = populate(settings, citizens=options.citizens,
                                 signatures=options.signatures,
                                 document_kb=options.document_kb)  # fmt: skip
            _, ledger = kyso(env, "admin", "check-ledger")
            if not ledger["ok"] or ledger["checked"]["signatures"] != options.signatures:
                raise SystemExit(f"the populated books do not add up: {ledger}")
            master_key = (data_dir / "master.key").read_text().strip()
            figures: dict[str, Any] = {
                "metric": f"backup_{backend}",
                "signatures": options.signatures,
                "citizens": options.citizens,
                "document_kb": options.document_kb,
                "populate_s": round(populated, 1),
                "with_documents": round_trip(backend, env, master_key, work, documents=True),
                "without_documents": round_trip(backend, env, master_key, work, documents=False),
                "reference": {
                    k: round(v, 2) for k, v in reference(backend, settings, url, work).items()
                },
            }
    return figures


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 signatures, not 10,000")
    parser.add_argument("--json", action="store_true", help="one JSON line per backend")
    parser.add_argument("--signatures", type=int)
    parser.add_argument("--citizens", type=int, default=100)
    parser.add_argument("--document-kb", type=int, default=70)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    options = parser.parse_args(argv)
    options.signatures = options.signatures or (1_000 if options.quick else 10_000)
    for backend in options.backends:
        figures = measure(backend, options)
        if options.json:
            print(json.dumps(figures))
            continue
        docs, bare = figures["with_documents"], figures["without_documents"]
        ref = figures["reference"]
        print(f"{backend}: {figures['signatures']:,} signatures of {figures['citizens']} citizens "
              f"(populated in {figures['populate_s']} s)")  # fmt: skip
        for label, row in (("with documents", docs), ("without documents", bare)):
            print(f"  {label:18} backup {row['backup_s']:6.2f} s ({row['backup_own_s']:.2f} s in "
                  f"the command), {row['backup_mb']:7.1f} MB; restore {row['restore_s']:6.2f} s "
                  f"({row['restore_own_s']:.2f} s in the command)")  # fmt: skip
        print(f"  reference: database out {ref['db_out_s']:.2f} s ({ref['db_mb']:.1f} MB), "
              f"in {ref['db_in_s']:.2f} s; tar of the documents {ref['documents_tar_s']:.2f} s "
              f"({ref['documents_mb']:.1f} MB)")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
