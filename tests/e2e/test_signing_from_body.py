"""POST /v1/signatures/pdf: the PDF as the body, the same signature and charge as the form."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from tests.e2e.signing_helpers import PIN, Signer, make_signers, usage
from tests.support.databases import POSTGRES_ADMIN_URL
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles
from tests.support.server import KysoServer
from tests.support.validate import pdfsig_report, pyhanko_verdicts, qpdf_clean

PATH = "/v1/signatures/pdf"


@pytest.fixture(scope="module")
def signer(server: KysoServer) -> Signer:
    return make_signers(server, 1)[0]


def _root(pki: PkiFiles) -> asn1_x509.Certificate:
    _, _, der = pem.unarmor(pki.root.read_bytes())
    return asn1_x509.Certificate.load(der)


def _post(signer: Signer, body: bytes, *, key: str | None = None, pin: str | None = PIN,
          content_type: str = "application/pdf", **params: str) -> httpx.Response:  # fmt: skip
    headers = {"Content-Type": content_type, "Idempotency-Key": key or uuid.uuid4().hex}
    if pin is not None:
        headers["Kyso-PIN"] = pin
    return signer.account.client.post(PATH, content=body, headers=headers, params=params,
                                      timeout=120)  # fmt: skip


def test_signs_and_charges_once_like_the_form(signer: Signer, pki: PkiFiles, workdir: Path) -> None:
    before = len(usage(signer))
    key = uuid.uuid4().hex
    params = {"level": "B-T", "reason": "Nộp hồ sơ", "location": "Đà Nẵng", "filename": "đơn.pdf"}
    made = _post(signer, simple_pdf(2), key=key, **params)
    assert made.status_code == 200, made.text
    assert made.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%C4%91%C6%A1n-signed.pdf" in made.headers["content-disposition"]
    document = workdir / "signed.pdf"
    document.write_bytes(made.content)
    report = pdfsig_report(document)
    assert [s["Signature Validation"] for s in report] == ["Signature is Valid."]
    assert qpdf_clean(document)
    (verdict,) = pyhanko_verdicts(document, _root(pki))
    assert (verdict.intact, verdict.valid, verdict.trusted, verdict.timestamp_trusted) == (
        True, True, True, True,
    )  # fmt: skip

    again = _post(signer, simple_pdf(2), key=key, **params)  # a retry: the same signature
    assert again.status_code == 200
    assert again.headers["x-signature-id"] == made.headers["x-signature-id"]
    assert again.headers.get("idempotent-replayed") == "true"
    events = usage(signer)
    assert len(events) == before + 1
    listed = signer.account.client.get("/v1/signatures").json()
    entry = next(e for e in listed if e["id"] == made.headers["x-signature-id"])
    assert entry["signed_sha256"] == hashlib.sha256(made.content).hexdigest()
    assert entry["filename"] == "đơn.pdf"


@pytest.mark.parametrize(
    ("content_type", "pin", "status", "code"),
    [
        ("application/octet-stream", PIN, 415, "signing.not_a_pdf"),
        ("application/pdf", None, 422, "signing.invalid_option"),
        ("application/pdf", "000000", 403, None),
    ],
    ids=["not_declared_pdf", "no_pin", "wrong_pin"],
)
def test_refusals_charge_nothing(
    signer: Signer, content_type: str, pin: str | None, status: int, code: str | None
) -> None:
    before = len(usage(signer))
    refused = _post(signer, simple_pdf(1), content_type=content_type, pin=pin, level="B-B")
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    if code:
        assert refused.json()["code"] == code
    assert len(usage(signer)) == before
    if pin == "000000":  # a right PIN afterwards resets the count
        assert _post(signer, simple_pdf(1), level="B-B").status_code == 200


def test_the_pin_is_not_taken_from_the_url(signer: Signer) -> None:
    refused = signer.account.client.post(
        PATH,
        content=simple_pdf(1),
        headers={"Content-Type": "application/pdf"},
        params={"pin": PIN, "level": "B-B"},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "signing.invalid_option"


def test_no_database_connection_waits_in_a_transaction_while_the_body_streams(
    server: KysoServer, signer: Signer, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("pg_stat_activity shows the connections on PostgreSQL")
    database = server.database_url.rpartition("/")[2]
    document = simple_pdf(1)
    started, go_on = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield document[:200]
        started.set()
        go_on.wait(30)
        yield document[200:]

    answers: list[httpx.Response] = []
    headers = {"Content-Type": "application/pdf", "Kyso-PIN": PIN}
    sender = threading.Thread(target=lambda: answers.append(signer.account.client.post(
        PATH, content=body(), headers=headers, params={"level": "B-B"}, timeout=60)))  # fmt: skip
    sender.start()
    try:
        assert started.wait(30)
        time.sleep(0.5)  # the server has read the first piece and waits for the rest
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            waiting = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND state LIKE 'idle in transaction%%'",
                (database,),
            ).fetchone()
    finally:
        go_on.set()
        sender.join(60)
    assert waiting == (0,)
    assert answers[0].status_code == 200, answers[0].text
