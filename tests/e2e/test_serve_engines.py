"""``kyso serve --engine granian`` serves the same service as uvicorn: stock openssl's OCSP and
time-stamp clients, a citizen's B-LT signature judged by pdfsig, qpdf, openssl cms and pyHanko,
and the first log line an operator reads. Run on both databases, two workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.signing_helpers import make_signers, sign
from tests.support.databases import fresh_database
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles, fetch_pki_files, issue_with_csr, openssl
from tests.support.server import KysoServer
from tests.support.validate import judge_signed_pdf


@pytest.fixture(scope="module")
def granian_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    directory = tmp_path_factory.mktemp(f"granian-{backend}")
    with fresh_database(backend, directory) as url:
        running = KysoServer(
            data_dir=directory / "kyso-data",
            database_url=url,
            workers=2,
            extra_env={"KYSO_SERVE_ENGINE": "granian"},
        ).start()
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def granian_pki(granian_server: KysoServer, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return fetch_pki_files(granian_server.url, tmp_path_factory.mktemp("granian-pki"))


def test_granian_serves_and_logs_the_first_line(granian_server: KysoServer) -> None:
    assert httpx.get(f"{granian_server.url}/healthz").status_code == 200
    assert granian_server.log_path is not None
    log = granian_server.log_path.read_text(errors="replace")
    assert "Starting granian" in log
    assert "kyso: data directory" in log
    assert "root CA SHA-256" in log


def test_openssl_ocsp_and_ts_through_granian(
    granian_server: KysoServer, granian_pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(granian_server, workdir)
    answer = openssl(
        "ocsp", "-url", f"{granian_server.url}/pki/ocsp", "-issuer", str(granian_pki.issuing),
        "-cert", str(issued.certificate), "-CAfile", str(granian_pki.root),
    ).stdout.decode()  # fmt: skip
    assert f"{issued.certificate}: good" in answer
    granian_server.cli("admin", "revoke", "--serial", issued.serial_hex, "--reason", "superseded")
    answer = openssl(
        "ocsp", "-url", f"{granian_server.url}/pki/ocsp", "-issuer", str(granian_pki.issuing),
        "-cert", str(issued.certificate), "-CAfile", str(granian_pki.root),
    ).stdout.decode()  # fmt: skip
    assert f"{issued.certificate}: revoked" in answer

    document = workdir / "to-stamp.txt"
    document.write_text("tờ khai qua granian")
    query = workdir / "q.tsq"
    openssl("ts", "-query", "-data", str(document), "-sha256", "-cert", "-out", str(query))
    reply = httpx.post(
        f"{granian_server.url}/pki/tsa",
        content=query.read_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert reply.status_code == 200
    (workdir / "r.tsr").write_bytes(reply.content)
    verified = openssl(
        "ts", "-verify", "-data", str(document), "-in", str(workdir / "r.tsr"),
        "-CAfile", str(granian_pki.root), "-untrusted", str(granian_pki.issuing),
    ).stdout.decode()  # fmt: skip
    assert "Verification: OK" in verified


def test_a_citizen_signs_at_b_lt_through_granian(
    granian_server: KysoServer, granian_pki: PkiFiles, workdir: Path
) -> None:
    (signer,) = make_signers(granian_server, 1)
    response = sign(signer, simple_pdf(), key="granian-1", level="B-LT")
    assert response.status_code == 200, response.text
    replayed = sign(signer, simple_pdf(), key="granian-1", level="B-LT")
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.content == response.content
    signed = workdir / "signed.pdf"
    signed.write_bytes(response.content)
    judge_signed_pdf(signed, granian_pki.root, "B-LT", 1, workdir)
    items = signer.account.client.get("/v1/me/usage").json()["items"]
    charges = [item for item in items if str(item["product"]).startswith("signature.")]
    assert [(c["product"], c["amount"]) for c in charges] == [("signature.B-LT", 4000)]
