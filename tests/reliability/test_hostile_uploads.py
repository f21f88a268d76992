"""Thirty-odd malformed or malicious PDFs, made by the tests, sent to every path that takes a
PDF: the API's signing and verification, and the web pages' signing and verification. Every
one is refused with a clear 4xx (or, for verification, judged not valid, as the API's contract
says), nothing is charged, the server keeps serving and its memory stays bounded. (The CSC
API takes hashes, not PDFs: no upload path there.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.api import staff
from tests.support.artifacts import record
from tests.support.hostile_pdfs import hostile_corpus
from tests.support.server import KysoServer
from tests.support.web import WebClient

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

REPAIRED = {
    "truncated-before-xref",
    "truncated-last-byte",
    "broken-xref-offset",
    "startxref-negative",
    "page-count-negative",
    "mediabox-not-numbers",
}
"""Damaged, not hostile: readers repair them as they open them (qpdf writes them again
cleanly, pdfium draws that copy as it draws the upload), so kyso signs the repaired copy."""
MEMORY_BOUND_MB = 300
"""The most the server's resident memory may grow over the whole corpus."""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    files = hostile_corpus(tmp_path_factory.mktemp("hostile"))
    assert len(files) >= 30
    return files


@pytest.fixture(scope="module")
def signer(server: KysoServer) -> Signer:
    (one,) = make_signers(server, 1)
    return one


def _charged(signer: Signer) -> tuple[int, int]:
    wallet = signer.account.client.get("/v1/me/wallet").json()
    usage = signer.account.client.get("/v1/me/usage").json()["items"]
    signatures = [u for u in usage if u["product"].startswith("signature.")]
    return wallet["balance"], len(signatures)


def test_every_hostile_pdf_is_refused_on_every_upload_path(
    server: KysoServer, corpus: dict[str, bytes], signer: Signer, backend: str
) -> None:
    assert server.process is not None
    before_memory = _rss_mb(server.process.pid)
    before_money = _charged(signer)
    citizen = WebClient(server)
    citizen.sign_in(signer.account.email, signer.account.password)
    agency = staff(server, "agency_officer")
    officer = WebClient(server)
    officer.sign_in(agency.email, agency.password)
    api = signer.account.client
    seen: dict[str, list[int]] = {}
    for name, data in corpus.items():
        upload = {"file": (f"{name}.pdf", data, "application/pdf")}
        signed = api.post("/v1/signatures", files=upload, data={"pin": PIN, "level": "B-T"})
        as_body = api.post("/v1/signatures/pdf", content=data, params={"level": "B-T"},
                           headers={"Content-Type": "application/pdf", "Kyso-PIN": PIN})  # fmt: skip
        assert as_body.status_code == signed.status_code, (name, as_body.text[:200])
        if name in REPAIRED:
            assert signed.status_code == 200, (name, signed.text[:200])
            for delivered in (signed.content, as_body.content):
                judged = api.post("/v1/verifications",
                                  files={"file": ("s.pdf", delivered, "application/pdf")})  # fmt: skip
                ours = [s for s in judged.json()["signatures"] if s["field"].startswith("kyso-")]
                assert [s["indication"] for s in ours] == ["TOTAL_PASSED"], name
        else:
            assert 400 <= signed.status_code < 500, (name, signed.status_code, signed.text[:200])
            assert signed.json()["code"], name
            assert as_body.json()["code"] == signed.json()["code"], name

        verified = api.post("/v1/verifications", files=upload)
        if verified.status_code == 200:  # the contract: an unreadable file is judged, not 4xx
            assert verified.json()["indication"] in ("TOTAL_FAILED", "INDETERMINATE"), name
        else:
            assert 400 <= verified.status_code < 500, (name, verified.status_code)

        page = citizen.http.post("/sign", data={"csrf": citizen.form_token("/sign")},
                                 files=upload, headers={"Accept": "text/html"})  # fmt: skip
        if name in REPAIRED:
            assert page.status_code == 303, (name, page.status_code)  # on to placing the stamp
        else:
            assert 400 <= page.status_code < 500, (name, page.status_code)
            assert page.headers["content-type"].startswith("text/html"), name
            assert 'role="alert"' in page.text, name

        report = officer.http.post("/verify", data={"csrf": officer.form_token("/verify")},
                                   files={"files": upload["file"]})  # fmt: skip
        if report.status_code == 303:
            shown = officer.http.get(report.headers["location"])
            assert "TOTAL_PASSED" not in shown.text, name
        else:
            assert 400 <= report.status_code < 500, (name, report.status_code)
        seen[name] = [signed.status_code, as_body.status_code, verified.status_code,
                      page.status_code, report.status_code]  # fmt: skip
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200, name
    growth = _rss_mb(server.process.pid) - before_memory
    record(f"hostile-{backend}", {"files": len(corpus), "paths": 5, "requests": 5 * len(corpus),
                                  "statuses": seen, "memory_growth_mb": round(growth, 1)})  # fmt: skip
    assert len(seen) == len(corpus)
    balance, count = _charged(signer)
    repaired = 2 * len(REPAIRED & set(corpus))  # each signed by both forms, and charged
    assert count == before_money[1] + repaired  # nothing charged for any refused one
    assert (balance < before_money[0]) == bool(repaired)
    assert growth < MEMORY_BOUND_MB, f"the server grew by {growth:.0f} MB"
