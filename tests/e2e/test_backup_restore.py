"""The restore drill, on each database: a backup taken while 20 signatures run, the machine lost,
the master key rebuilt from 3 of its 5 shares, the backup restored, and the service back as the
same CA, with the same books, its OCSP and CRL answering, and citizens signing with their PINs."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certs.envelope import open_envelope
from certs.masterkey import load_master_key
from certs.protected_keys import ProtectedKeyVault
from tests.e2e.signing_helpers import PIN, Signer, make_signers, sign
from tests.support.backups import backup_database, combine, split, unpack
from tests.support.clear_keys import clear_forms
from tests.support.databases import POSTGRES_ADMIN_URL, fresh_database
from tests.support.pdfs import simple_pdf
from tests.support.pki import IssuedCert, PkiFiles, fetch_pki_files, issue_with_csr, openssl
from tests.support.server import KysoServer, kyso_env, run_kyso
from tests.support.snapshot import all_stored_bytes, table_records

SIGNATURES = 20


@dataclass
class Drill:
    """Everything the drill saw, for the tests below to check."""

    backend: str
    original_root: str
    backup_path: Path
    backup_report: dict[str, Any]
    restore_report: dict[str, Any]
    restored: KysoServer
    signers: list[Signer]
    pki: PkiFiles
    good: IssuedCert
    revoked: IssuedCert
    crl_number_before: int
    done_before_backup: set[str]
    signed_after_backup: str
    backup_view: dict[str, Any]
    clear_secrets: list[bytes]
    backup_bytes: list[bytes]
    statuses: list[int] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _root_sha256(url: str) -> str:
    root = x509.load_der_x509_certificate(httpx.get(f"{url}/pki/ca/root.crt").content)
    return root.fingerprint(hashes.SHA256()).hex(":").upper()


def _crl_number(url: str) -> int:
    crl = x509.load_der_x509_crl(httpx.get(f"{url}/pki/crl/issuing.crl").content)
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _books(database_url: str) -> dict[str, Any]:
    """Balances, usage counters, events per account and signature ids, read directly."""
    events: dict[str, int] = {}
    for row in table_records(database_url, "usage_event"):
        events[row["account_id"]] = events.get(row["account_id"], 0) + 1
    return {
        "balances": {r["id"]: r["balance"] for r in table_records(database_url, "billing_account")},
        "counters": sorted(
            (r["account_id"], r["name"], r["count"])
            for r in table_records(database_url, "usage_counter")
        ),
        "events": events,
        "signatures": {r["id"] for r in table_records(database_url, "signature")},
    }


def _secrets_in_clear(database_url: str, data_dir: Path) -> list[bytes]:
    """Every private key the instance holds, in its clear forms, and the master key's."""
    master_key = load_master_key(env_value=None, path=data_dir / "master.key")
    found: list[bytes] = []
    for path in (data_dir / "keys").glob("*.key"):
        found += clear_forms(open_envelope(master_key, path.stem, path.read_bytes()))
    vault = ProtectedKeyVault(master_key)
    for credential in table_records(database_url, "credential"):
        name = f"credential-{credential['id']}"
        # the citizen's own key, opened with her PIN as the service does when she signs
        found += clear_forms(vault._open_der(name, credential["sealed_by_pin"], PIN.encode()))
    raw = master_key.secret
    found += [raw, raw.hex().encode(), (data_dir / "master.key").read_bytes().strip()]
    return found


def _sign_during_backup(
    server: KysoServer, signers: list[Signer], backup: Path
) -> tuple[dict[str, Any], set[str], list[int], dict[str, str]]:
    """20 signatures from two citizens at once; the backup starts after the 4th has finished.
    Returns the backup's report, the signatures finished before it started, every status, and
    each signed PDF's SHA-256."""
    finished: list[tuple[float, str]] = []
    statuses: list[int] = []
    documents: dict[str, str] = {}
    four_done = threading.Event()
    lock = threading.Lock()

    def run(signer: Signer) -> None:
        for n in range(SIGNATURES // len(signers)):
            response = sign(signer, simple_pdf(), key=uuid.uuid4().hex, level="B-B",
                            filename=f"to-khai-{n}.pdf")  # fmt: skip
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200:
                    finished.append((time.monotonic(), response.headers["X-Signature-Id"]))
                    documents[response.headers["X-Signature-Id"]] = sha256(response.content)
                if len(finished) >= 4:
                    four_done.set()

    with ThreadPoolExecutor(len(signers)) as pool:
        futures = [pool.submit(run, s) for s in signers]
        assert four_done.wait(120), "signing did not start"
        started = time.monotonic()
        report = json.loads(server.cli("admin", "backup", "--out", str(backup)).stdout)
        for future in futures:
            future.result()
    before = {signature for at, signature in finished if at < started}
    return report, before, statuses, documents


@pytest.fixture(scope="module")
def drill(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    directory = tmp_path_factory.mktemp(f"drill-{backend}")
    with ExitStack() as stack:
        lost = directory / "lost" / "kyso-data"  # SQLite's database inside, as by default
        url = stack.enter_context(fresh_database(backend, lost))
        server = KysoServer(data_dir=lost, database_url=url).start()
        stack.callback(server.stop)
        signers = make_signers(server, count=2)
        pki = fetch_pki_files(server.url, directory)
        (directory / "good").mkdir()
        (directory / "revoked").mkdir()
        good = issue_with_csr(server, directory / "good", cccd="001203012346")
        revoked = issue_with_csr(server, directory / "revoked", cccd="001203012347")
        server.cli("admin", "revoke", "--serial", revoked.serial_hex, "--reason", "keyCompromise")
        shares = split(server.env)["shares"]
        original_root = _root_sha256(server.url)
        crl_number_before = _crl_number(server.url)

        backup = directory / "kyso-backup.kyso"
        report, before, statuses, documents = _sign_during_backup(server, signers, backup)
        after = sign(signers[0], simple_pdf(), key=uuid.uuid4().hex, level="B-B")
        assert after.status_code == 200, after.text
        backup_view_dir = directory / "backup-view"
        backup_view_dir.mkdir()
        with backup_database(backup, backend, backup_view_dir) as view_url:
            backup_view = _books(view_url)
            backup_bytes = all_stored_bytes(view_url, backup_view_dir)
        clear_secrets = _secrets_in_clear(url, server.data_dir)

        # The machine is lost: the server, its data directory, its database.
        server.stop()
        shutil.rmtree(server.data_dir)
        if backend == "postgresql":
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{url.rpartition("/")[2]}" WITH (FORCE)')

        # A new machine: an empty database, the master key rebuilt from shares 1, 3 and 5.
        fresh = directory / "new" / "kyso-data"
        new_url = stack.enter_context(fresh_database(backend, fresh))
        env = kyso_env(fresh, new_url)
        rebuilt = combine(env, [shares[0], shares[2], shares[4]])
        assert rebuilt.returncode == 0, rebuilt.stderr
        restore_report = json.loads(run_kyso(env, "admin", "restore", "--from", str(backup)).stdout)
        restored = KysoServer(data_dir=fresh, database_url=new_url, port=server.port).start()
        stack.callback(restored.stop)
        yield Drill(
            backend=backend,
            original_root=original_root,
            backup_path=backup,
            backup_report=report,
            restore_report=restore_report,
            restored=restored,
            signers=signers,
            pki=pki,
            good=good,
            revoked=revoked,
            crl_number_before=crl_number_before,
            done_before_backup=before,
            signed_after_backup=after.headers["X-Signature-Id"],
            backup_view=backup_view,
            clear_secrets=clear_secrets,
            backup_bytes=[backup.read_bytes(), *backup_bytes],
            statuses=statuses,
            documents=documents,
        )


def test_signing_went_on_while_the_backup_was_taken(drill: Drill) -> None:
    assert drill.statuses == [200] * SIGNATURES
    assert 4 <= len(drill.done_before_backup) < SIGNATURES  # the backup began mid-run
    held = drill.backup_view["signatures"]
    assert drill.done_before_backup <= held  # finished before the backup began: in it
    assert drill.signed_after_backup not in held
    assert drill.backup_report["signatures"] == len(held)


def test_the_restored_service_is_the_same_ca(drill: Drill) -> None:
    assert _root_sha256(drill.restored.url) == drill.original_root
    assert drill.restore_report["root_sha256"] == drill.original_root
    assert drill.backup_report["root_sha256"] == drill.original_root


def test_the_restore_report_says_what_is_gone(drill: Drill) -> None:
    report = drill.restore_report
    assert report["audit_head"]["seq"] == drill.backup_report["audit_head"]["seq"]
    assert report["audit_head"]["hash"] == drill.backup_report["audit_head"]["hash"]
    assert report["last_signature_at"] == drill.backup_report["last_signature_at"]
    assert report["last_signature_at"] is not None
    assert "is gone" in report["notice"]
    assert f"ends at record {report['audit_head']['seq']}" in report["notice"]
    assert re.search(r"made \d{4}-\d\d-\d\d \d\d:\d\d:\d\d Vietnam time", report["notice"])
    assert report["sha256"] == drill.backup_report["sha256"]
    assert report["schema"]["backup"] == report["schema"]["now"]


def test_ocsp_answers_for_certificates_issued_before_the_backup(drill: Drill) -> None:
    for issued, status in ((drill.good, "good"), (drill.revoked, "revoked")):
        answer = openssl(
            "ocsp", "-url", f"{drill.restored.url}/pki/ocsp", "-issuer", str(drill.pki.issuing),
            "-cert", str(issued.certificate), "-CAfile", str(drill.pki.root), check=False,
        )  # fmt: skip
        printed = (answer.stdout + answer.stderr).decode()
        assert "Response verify OK" in printed
        assert f"{issued.certificate}: {status}" in printed


def test_the_crl_keeps_the_revocation_with_a_number_never_used_before(drill: Drill) -> None:
    crl = x509.load_der_x509_crl(httpx.get(f"{drill.restored.url}/pki/crl/issuing.crl").content)
    revoked = crl.get_revoked_certificate_by_serial_number(drill.revoked.load().serial_number)
    assert revoked is not None
    assert crl.get_revoked_certificate_by_serial_number(drill.good.load().serial_number) is None
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > drill.crl_number_before
    assert number == drill.restore_report["crl_numbers"]["issuing"]


def test_every_balance_and_usage_count_equals_the_backups(drill: Drill) -> None:
    restored = _books(drill.restored.database_url)
    assert restored["balances"] == drill.backup_view["balances"]
    assert restored["counters"] == drill.backup_view["counters"]
    assert restored["events"] == drill.backup_view["events"]
    assert restored["signatures"] == drill.backup_view["signatures"]
    for signer in drill.signers:
        assert signer.account.login().status_code == 200
        wallet = signer.account.client.get("/v1/me/wallet").json()
        assert wallet["balance"] == drill.backup_view["balances"][signer.account.id]


def test_the_signed_documents_of_the_backup_download_again(drill: Drill) -> None:
    held = drill.backup_view["signatures"]
    assert drill.backup_report["documents"] == len(held)
    owners = {
        r["id"]: r["user_id"] for r in table_records(drill.restored.database_url, "signature")
    }
    downloaded = 0
    for signer in drill.signers:
        assert signer.account.login().status_code == 200
        for signature_id, digest in drill.documents.items():
            if signature_id in held and owners[signature_id] == signer.account.id:
                got = signer.account.client.get(f"/v1/signatures/{signature_id}/document")
                assert got.status_code == 200
                assert sha256(got.content) == digest
                downloaded += 1
    assert downloaded == len(held & set(drill.documents)) >= 4


def test_check_ledger_and_audit_verify_are_clean(drill: Drill) -> None:
    ledger = json.loads(drill.restored.cli("admin", "check-ledger").stdout)
    assert ledger["ok"] is True, ledger["findings"]
    assert ledger["checked"]["signatures"] == len(drill.backup_view["signatures"])
    audit = json.loads(drill.restored.cli("admin", "audit", "verify").stdout)
    assert audit["intact"] is True
    restore_record = [
        r for r in table_records(drill.restored.database_url, "audit_log")
        if r["action"] == "backup.restore"
    ]  # fmt: skip
    assert [r["seq"] for r in restore_record] == [drill.restore_report["audit_head"]["seq"] + 1]


def test_a_citizen_signs_again_with_her_old_pin(drill: Drill) -> None:
    signer = drill.signers[1]
    assert signer.account.login().status_code == 200
    before = signer.account.client.get("/v1/me/wallet").json()["balance"]
    signed = sign(signer, simple_pdf(), key=uuid.uuid4().hex, level="B-T")
    assert signed.status_code == 200, signed.text
    assert signed.content.startswith(b"%PDF")
    assert signer.account.client.get("/v1/me/wallet").json()["balance"] < before
    wrong = sign(signer, simple_pdf(), key=uuid.uuid4().hex, pin="000000")
    assert wrong.status_code == 403, wrong.text
    assert wrong.json()["code"] == "credential.wrong_pin"


def test_no_key_in_clear_inside_the_backup(drill: Drill) -> None:
    assert len(drill.clear_secrets) > 20  # CA, OCSP, TSA, token keys, both citizens', master
    for blob in drill.backup_bytes:  # the file itself, and the database it holds, unpacked
        assert not any(secret in blob for secret in drill.clear_secrets)
        assert b"PRIVATE KEY-----" not in blob
    members = unpack(drill.backup_path, drill.backup_path.parent / "scan")
    assert "master.key" not in {Path(name).name for name in members}
    for path in members.values():
        content = path.read_bytes()
        assert not any(secret in content for secret in drill.clear_secrets), path.name
