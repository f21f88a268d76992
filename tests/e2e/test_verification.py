"""Agencies verify signed PDFs through the real service: ours at every level pass, a changed
byte fails, another CA is trusted only once an administrator adds its root, and the command
line prints the same report as the API."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.signing_helpers import make_signers, sign
from tests.support.api import Account, staff
from tests.support.foreign_pki import NOW, ForeignPki, add_page
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@pytest.fixture(scope="module")
def officer(server: KysoServer) -> Iterator[Account]:
    account = staff(server, "agency_officer")
    yield account
    account.client.close()


@pytest.fixture(scope="module")
def signed(server: KysoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    (signer,) = make_signers(server, count=1)
    directory = tmp_path_factory.mktemp("ours")
    files = {}
    for level in LEVELS:
        answer = sign(signer, simple_pdf(text=f"đơn {level}"), level=level, reason="Nộp hồ sơ")
        assert answer.status_code == 200, answer.text
        files[level] = directory / f"{level}.pdf"
        files[level].write_bytes(answer.content)
    return files


def _verify(account: Account, path: Path, **params: str) -> httpx.Response:
    with path.open("rb") as stream:
        return account.client.post(
            "/v1/verifications",
            params=params,
            timeout=120,
            files={"file": (path.name, stream, "application/pdf")},
        )


@pytest.mark.parametrize("level", LEVELS)
def test_our_documents_pass_at_every_level(
    officer: Account, signed: dict[str, Path], level: str
) -> None:
    answer = _verify(officer, signed[level])
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["indication"], report["subindication"]) == ("TOTAL_PASSED", None), report
    regular = [s for s in report["signatures"] if s["kind"] == "signature"]
    (signature,) = regular
    assert signature["level"] == level
    assert signature["signer"]["uid"].startswith("CCCD:")
    assert signature["revocation"]["status"] == "good"
    assert signature["revocation"]["source"] == ("kyso" if level in ("B-B", "B-T") else "document")
    assert (
        "kyso" in signature["trust_anchor"].lower() or "root" in signature["trust_anchor"].lower()
    )
    if level == "B-LTA":
        (stamp,) = [s for s in report["signatures"] if s["kind"] == "document_timestamp"]
        assert stamp["indication"] == "TOTAL_PASSED"


def test_a_one_byte_change_in_the_signed_range_fails(
    officer: Account, signed: dict[str, Path], tmp_path: Path
) -> None:
    data = bytearray(signed["B-LT"].read_bytes())
    position = data.index(b"stream", 200) + 30
    data[position] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    report = _verify(officer, changed).json()
    assert (report["indication"], report["subindication"]) == ("TOTAL_FAILED", "HASH_FAILURE")


def test_the_command_line_prints_the_api_report(
    server: KysoServer, officer: Account, signed: dict[str, Path]
) -> None:
    api = _verify(officer, signed["B-T"]).json()
    printed = server.cli("verify", str(signed["B-T"]), "--json")
    cli = json.loads(printed.stdout)
    del api["validated_at"], cli["validated_at"]
    assert cli == api


def test_another_ca_is_trusted_once_an_administrator_adds_its_root(
    server: KysoServer, officer: Account, tmp_path: Path
) -> None:
    pki = ForeignPki.create(f"Root CA {server.port}")
    signer = pki.issue(
        "Phạm Thị Dung",
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=30),
        uid="CCCD:079190000001",
    )
    document = tmp_path / "foreign.pdf"
    document.write_bytes(pki.sign(simple_pdf(), signer, revocation=[pki.crl(NOW)]))
    before = _verify(officer, document).json()
    assert (before["indication"], before["subindication"]) == (
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    admin = staff(server, "admin")
    added = admin.client.post(
        "/v1/admin/trust-anchors", json={"certificate": pki.root_pem.decode()}
    )
    assert added.status_code == 201, added.text
    assert _verify(officer, document).json()["indication"] == "TOTAL_PASSED"
    listed = json.loads(server.cli("admin", "trust", "list").stdout)
    assert added.json()["sha256"] in {a["sha256"] for a in listed}
    removed = admin.client.delete(f"/v1/admin/trust-anchors/{added.json()['sha256']}")
    assert removed.status_code == 200, removed.text
    assert _verify(officer, document).json()["indication"] == "INDETERMINATE"
    root = tmp_path / "root.pem"
    root.write_bytes(pki.root_pem)
    once = server.cli("verify", str(document), "--trust", str(root), "--json")
    assert json.loads(once.stdout)["indication"] == "TOTAL_PASSED"
    not_ca = admin.client.post("/v1/admin/trust-anchors", json={"certificate": "not a cert"})
    assert (not_ca.status_code, not_ca.json()["code"]) == (422, "verification.not_a_trust_anchor")
    admin.client.close()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("vi", ("BÁO CÁO KIỂM TRA CHỮ KÝ SỐ", "HỢP LỆ", "Người ký")),
        ("en", ("DIGITAL SIGNATURE VERIFICATION REPORT", "VALID", "Signer")),
    ],
)
def test_the_report_as_a_pdf_to_file_with_the_case(
    officer: Account, signed: dict[str, Path], tmp_path: Path, language: str, words: tuple[str, ...]
) -> None:
    with signed["B-LT"].open("rb") as stream:
        answer = officer.client.post(
            "/v1/verifications",
            params={"format": "pdf"},
            headers={"Accept-Language": language},
            files={"file": ("B-LT.pdf", stream, "application/pdf")},
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(answer.content)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert "No syntax or stream encoding errors" in check.stdout
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    for word in words:
        assert word in text, text[:500]


def test_not_a_pdf_is_refused_and_a_folder_gets_a_summary(
    server: KysoServer, officer: Account, signed: dict[str, Path], tmp_path: Path
) -> None:
    picture = tmp_path / "anh.pdf"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    refused = _verify(officer, picture)
    assert (refused.status_code, refused.json()["code"]) == (415, "signing.not_a_pdf")
    folder = tmp_path / "ho-so"
    folder.mkdir()
    for level, path in signed.items():
        (folder / f"{level}.pdf").write_bytes(path.read_bytes())
    (folder / "hong.pdf").write_bytes(b"%PDF-1.7\nbroken")
    summary = server.cli("verify", str(folder), check=False)
    assert summary.returncode == 1
    assert "5 documents: 4 TOTAL_PASSED, 0 INDETERMINATE, 1 TOTAL_FAILED" in summary.stdout
    assert "Verifying" in summary.stderr


def test_a_citizen_checks_their_own_document_and_it_is_metered(
    signed: dict[str, Path], server: KysoServer
) -> None:
    (citizen,) = make_signers(server, count=1, funds=0)
    report = _verify(citizen.account, signed["B-T"])
    assert report.json()["indication"] == "TOTAL_PASSED"
    events = citizen.account.client.get("/v1/me/usage").json()["items"]
    assert (events[0]["product"], events[0]["amount"]) == ("verification", 0)


def test_a_changed_document_reported_in_vietnamese_words_under_a_vietnamese_name(
    officer: Account, signed: dict[str, Path], tmp_path: Path
) -> None:
    changed = tmp_path / "Hợp đồng thuê nhà.pdf"
    changed.write_bytes(add_page(signed["B-LT"].read_bytes()))
    with changed.open("rb") as stream:
        answer = officer.client.post(
            "/v1/verifications",
            params={"format": "pdf"},
            files={"file": (changed.name, stream, "application/pdf")},
        )
    assert answer.status_code == 200, answer.text
    assert "filename*=UTF-8''H%E1%BB%A3p" in answer.headers["content-disposition"]
    path = tmp_path / "report.pdf"
    path.write_bytes(answer.content)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "KHÔNG HỢP LỆ" in text
    assert (
        "tài liệu bị thay đổi sau khi ký (thay đổi khác) theo cách người ký không cho phép" in text
    )
    assert "in a way the signer" not in text, "English left in the Vietnamese report"
    report = _verify(officer, changed).json()
    (signature,) = report["signatures"]
    assert signature["reason_codes"] == [{"code": "forbidden_changes", "changes": "other"}]
    assert signature["modifications"]["pages"] == [2]
