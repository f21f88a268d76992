"""The operator's commands: clear one-line errors, and every action in the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from api.settings import Settings
from tests.support.databases import fresh_database
from tests.support.pki import issue_with_csr, openssl
from tests.support.server import KysoServer, kyso_env, run_kyso
from tests.support.snapshot import table_records


def test_issue_and_revoke_are_audited(server: KysoServer, workdir: Path) -> None:
    issued = issue_with_csr(server, workdir, full_name="Võ Thị Hồng", cccd="079301000999")
    result = server.cli("admin", "revoke", "--serial", issued.serial_hex, "--reason", "superseded")
    printed = json.loads(result.stdout)
    assert printed["serial"] == issued.serial_hex
    assert printed["reason"] == "superseded"

    records = table_records(server.database_url, "audit_log")
    actions = {
        row["action"]: json.loads(row["details"])
        for row in records
        if row["target"] == issued.serial_hex
    }
    assert set(actions) == {"certificate.issue", "certificate.revoke", "ca_key.use"}
    assert actions["ca_key.use"]["purpose"] == "certificate"  # the issuing CA key signed it
    assert "CCCD:079301000999" in actions["certificate.issue"]["subject"]
    assert actions["certificate.revoke"]["reason"] == "superseded"
    assert all(
        row["actor"].startswith("operator:")
        for row in records
        if row["target"] == issued.serial_hex
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (
            ["admin", "revoke", "--serial", "abcdef123", "--reason", "keyCompromise"],
            "certs.certificate_not_found",
        ),
        (
            ["admin", "revoke", "--serial", "not-hex", "--reason", "keyCompromise"],
            "certs.invalid_serial",
        ),
        (
            ["admin", "revoke", "--serial", "abc", "--reason", "lost-it"],
            "certs.unknown_revocation_reason",
        ),
    ],
    ids=["unknown_serial", "bad_serial", "bad_reason"],
)
def test_revoke_errors_are_one_clear_line(server: KysoServer, args: list[str], code: str) -> None:
    result = server.cli(*args, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error [{code}]:")
    assert "Traceback" not in result.stderr


def test_revoking_twice_is_refused(server: KysoServer, workdir: Path) -> None:
    issued = issue_with_csr(server, workdir)
    server.cli("admin", "revoke", "--serial", issued.serial_hex, "--reason", "keyCompromise")
    result = server.cli(
        "admin", "revoke", "--serial", issued.serial_hex, "--reason", "keyCompromise", check=False
    )
    assert result.returncode == 1
    assert "error [certs.already_revoked]" in result.stderr


@pytest.mark.parametrize(
    ("cccd", "csr_text", "code"),
    [
        ("12345", None, "certs.invalid_subject"),
        ("001203012345", b"not a request", "certs.invalid_csr"),
    ],
    ids=["short_cccd", "garbage_csr"],
)
def test_issue_cert_errors_are_one_clear_line(
    server: KysoServer, workdir: Path, cccd: str, csr_text: bytes | None, code: str
) -> None:
    csr = workdir / "req.csr"
    if csr_text is None:
        openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(workdir / "k.pem"), "-subj", "/CN=x", "-out", str(csr),
        )  # fmt: skip
    else:
        csr.write_bytes(csr_text)
    result = server.cli(
        "admin", "issue-cert", "--csr", str(csr), "--full-name", "An", "--cccd", cccd, check=False
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error [{code}]:")


def test_audit_verify_detects_an_edited_row(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        env = kyso_env(tmp_path / "kyso-data", url)
        run_kyso(env, "init")
        for n in (1, 2, 3):
            run_kyso(env, "admin", "create-user", "--email", f"staff{n}@kyso.test",
                     "--password", "một mật khẩu dài", "--role", "billing_staff")  # fmt: skip
        assert json.loads(run_kyso(env, "admin", "audit", "verify").stdout)["intact"] is True

        engine = create_engine(Settings(database_url=url).sqlalchemy_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2"))
        engine.dispose()

        result = run_kyso(env, "admin", "audit", "verify", check=False)
        assert result.returncode == 1
        assert json.loads(result.stdout)["problem"] == "record 2 was altered"


def test_admin_commands_never_create_an_installation_of_their_own(tmp_path: Path) -> None:
    env = kyso_env(tmp_path / "elsewhere" / "kyso-data", f"sqlite:///{tmp_path}/none.db")
    result = run_kyso(
        env, "admin", "revoke", "--serial", "abc", "--reason", "superseded", check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error [admin.no_installation]: no kyso installation at")
    assert not (tmp_path / "elsewhere").exists()
