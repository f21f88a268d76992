"""The sign-and-record transaction: idempotent retries, failures that leave nothing, refusals."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e.signing_helpers import FUNDS, PIN, Signer, make_signers, sign, usage
from tests.support.api import enrol_otp
from tests.support.databases import fresh_database
from tests.support.pdfs import (
    compression_bomb,
    deep_object_graph,
    encrypted_pdf,
    many_pages,
    simple_pdf,
)
from tests.support.server import KysoServer, free_port
from tests.support.snapshot import table_records


@pytest.fixture(scope="module")
def signers(server: KysoServer) -> list[Signer]:
    return make_signers(server, count=3)


def _records(server: KysoServer, user_id: str) -> tuple[int, int]:
    signatures = [
        r for r in table_records(server.database_url, "signature") if r["user_id"] == user_id
    ]
    events = [
        r
        for r in table_records(server.database_url, "usage_event")
        if r["user_id"] == user_id and str(r["product"]).startswith("signature.")
    ]
    return len(signatures), len(events)


def test_same_idempotency_key_returns_the_same_bytes_and_charges_once(
    server: KysoServer, signers: list[Signer]
) -> None:
    signer = signers[0]
    before = _records(server, signer.account.id)
    first = sign(signer, simple_pdf(), key="nop-ho-so-001", level="B-T")
    again = sign(signer, simple_pdf(), key="nop-ho-so-001", level="B-T")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["x-signature-id"] == first.headers["x-signature-id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert _records(server, signer.account.id) == (before[0] + 1, before[1] + 1)
    event = [e for e in usage(signer) if e["signature_id"] == first.headers["x-signature-id"]]
    assert len(event) == 1
    assert event[0]["product"] == "signature.B-T"
    assert event[0]["amount"] == 4_000
    assert event[0]["tier"] == "tier:0+"

    other = sign(signer, simple_pdf(text="another"), key="nop-ho-so-001", level="B-T")
    assert other.status_code == 422
    assert other.json()["code"] == "request.idempotency_conflict"


@pytest.fixture(scope="module")
def dead_tsa_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """An installation told to time-stamp with a TSA that does not answer."""
    directory = tmp_path_factory.mktemp(f"dead-tsa-{backend}")
    with fresh_database(backend, directory) as url:
        dead = f"http://127.0.0.1:{free_port()}/tsa"
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url,
                             extra_env={"KYSO_TSA_URL": dead}).start()  # fmt: skip
        try:
            yield running
        finally:
            running.stop()


def test_failure_after_the_key_is_unlocked_leaves_no_record_and_no_charge(
    dead_tsa_server: KysoServer,
) -> None:
    (signer,) = make_signers(dead_tsa_server, count=1)
    refused = sign(signer, simple_pdf(), key="k-1", level="B-T")
    assert refused.status_code == 503
    assert refused.json()["code"] == "signing.tsa_unavailable"
    assert _records(dead_tsa_server, signer.account.id) == (0, 0)
    wallet = signer.account.client.get("/v1/me/wallet").json()
    assert wallet["balance"] == wallet["available"] == FUNDS, "charged, or money still held"
    assert list((dead_tsa_server.data_dir / "documents").iterdir()) == []
    # The key and PIN were fine: the same credential signs where no TSA is needed.
    assert sign(signer, simple_pdf(), key="k-2", level="B-B").status_code == 200
    assert _records(dead_tsa_server, signer.account.id) == (1, 1)
    retry = sign(signer, simple_pdf(), key="k-1", level="B-T")  # the failed key is not burnt
    assert retry.status_code == 503


def test_wrong_pin_locks_and_a_revoked_certificate_cannot_sign(
    server: KysoServer, signers: list[Signer]
) -> None:
    signer = signers[1]
    wrong = sign(signer, simple_pdf(), pin="739201", level="B-B")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "credential.wrong_pin"
    assert wrong.json()["attempts_left"] == 4
    for _ in range(4):
        last = sign(signer, simple_pdf(), pin="739201", level="B-B")
    assert last.status_code == 423
    assert last.json()["code"] == "credential.locked"
    assert sign(signer, simple_pdf(), level="B-B").status_code == 423

    revoked = signers[2]
    serial = revoked.account.client.get("/v1/me/credentials").json()[0]["serial"]
    server.cli("admin", "revoke", "--serial", serial, "--reason", "keyCompromise")
    refused = sign(revoked, simple_pdf(), level="B-B")
    assert refused.status_code == 409
    assert refused.json()["code"] == "credential.unusable"
    # The operator's revocation ended the credential too: the citizen can get a new one.
    assert revoked.account.client.get("/v1/me/credentials").json()[0]["status"] == "revoked"
    again = revoked.account.client.post("/v1/me/certificate", json={"pin": PIN})
    assert again.status_code == 201, again.text
    assert sign(revoked, simple_pdf(), level="B-B").status_code == 200
    assert _records(server, signer.account.id)[1] == _records(server, signer.account.id)[0]


def _hostile(tmp: Path) -> dict[str, tuple[bytes, int, str]]:
    good = simple_pdf()
    return {
        "not_a_pdf": (b"GIF89a this is an image", 415, "signing.not_a_pdf"),
        "empty": (b"", 415, "signing.not_a_pdf"),
        "truncated": (good[: len(good) // 2], 422, "signing.unparsable_pdf"),
        "encrypted": (encrypted_pdf(tmp), 422, "signing.encrypted_pdf"),
        # (a cross-reference table pointing nowhere is repaired and signed, as readers open
        # it: tests/corpus/test_document_classes.py)
        "compression_bomb": (compression_bomb(), 422, "signing.hostile_pdf"),
        "deep_object_graph": (deep_object_graph(), 422, "signing.hostile_pdf"),
        "ten_thousand_pages": (many_pages(10_000), 413, "signing.too_many_pages"),
    }


def test_hostile_uploads_are_refused_and_nothing_is_charged(
    server: KysoServer, signers: list[Signer], tmp_path: Path
) -> None:
    signer = signers[0]
    before = _records(server, signer.account.id)
    for name, (body, status, code) in _hostile(tmp_path).items():
        started = time.monotonic()
        response = sign(signer, body, level="B-B")
        assert response.status_code == status, (name, response.text)
        assert response.json()["code"] == code, name
        assert time.monotonic() - started < 60, name
        assert httpx.get(f"{server.url}/healthz").status_code == 200, name
    assert _records(server, signer.account.id) == before
    credential = signer.account.client.get("/v1/me/credentials").json()[0]
    assert credential["failed_pin_attempts"] == 0  # the key was never approached


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"page": "7"}, 422, "signing.no_such_page"),
        ({"page": "1", "rect": "500,700,900,800"}, 422, "signing.invalid_placement"),
        ({"rect": "a,b,c,d"}, 422, "signing.invalid_option"),
        ({"level": "B-XL"}, 422, "signing.invalid_option"),
        ({"field": "NoSuchField"}, 422, "signing.field_unusable"),
        ({"certify": "4"}, 422, "signing.invalid_option"),
    ],
    ids=["no_such_page", "outside_page", "bad_rect", "bad_level", "no_such_field", "bad_certify"],
)
def test_bad_options_are_explained(
    server: KysoServer, signers: list[Signer], fields: dict[str, str], status: int, code: str
) -> None:
    response = sign(signers[0], simple_pdf(), **fields)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_upload_over_the_limit_is_refused_with_413(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        small = KysoServer(data_dir=tmp_path / "kyso-data", database_url=url,
                           extra_env={"KYSO_MAX_UPLOAD_MB": "1"}).start()  # fmt: skip
        try:
            (signer,) = make_signers(small, count=1)
            big = simple_pdf() + b"%" + b"x" * (2 * 1024 * 1024)
            response = sign(signer, big, level="B-B")
            assert response.status_code == 413
            assert response.json()["code"] == "request.too_large"
            assert httpx.get(f"{small.url}/healthz").status_code == 200
        finally:
            small.stop()


def test_document_is_purged_after_retention_but_the_record_stays(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        server = KysoServer(data_dir=tmp_path / "kyso-data", database_url=url,
                            extra_env={"KYSO_RETENTION_DAYS": "0"}).start()  # fmt: skip
        try:
            (signer,) = make_signers(server, count=1)
            made = sign(signer, simple_pdf(), level="B-B")
            assert made.status_code == 200
            signature_id = made.headers["x-signature-id"]
            purged = server.cli("admin", "purge-documents")
            assert '"purged": 1' in purged.stdout
            gone = signer.account.client.get(f"/v1/signatures/{signature_id}/document")
            assert gone.status_code == 410
            assert gone.json()["code"] == "signing.document_purged"
            listed = signer.account.client.get("/v1/signatures").json()
            assert [e["document_available"] for e in listed if e["id"] == signature_id] == [False]
            assert len([e for e in usage(signer) if e["signature_id"] == signature_id]) == 1
        finally:
            server.stop()


def test_parallel_wrong_pins_never_get_more_than_five_tries(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda _: sign(signer, simple_pdf(), pin="739201", level="B-B"), range(8)
        ))  # fmt: skip
    codes = [a.json()["code"] for a in answers]
    assert codes.count("credential.wrong_pin") + codes.count("credential.locked") == 8, codes
    assert codes.count("credential.wrong_pin") <= 4
    credential = signer.account.client.get("/v1/me/credentials").json()[0]
    assert credential["status"] == "locked"
    assert credential["failed_pin_attempts"] == 5
    assert sign(signer, simple_pdf(), level="B-B").status_code == 423  # even the right PIN


def test_one_wrong_pin_among_right_ones_in_parallel_locks_nothing(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    pins = [PIN] * 6 + ["739201"]
    with ThreadPoolExecutor(len(pins)) as pool:
        answers = list(pool.map(
            lambda pin: sign(signer, simple_pdf(text=pin), pin=pin, level="B-B"), pins))  # fmt: skip
    assert [a.status_code for a in answers] == [200] * 6 + [403], [a.text[:80] for a in answers]
    credential = signer.account.client.get("/v1/me/credentials").json()[0]
    assert credential["status"] == "active"
    assert credential["failed_pin_attempts"] <= 1


def test_signing_with_a_named_credential(server: KysoServer, signers: list[Signer]) -> None:
    signer = signers[0]
    named = sign(signer, simple_pdf(), level="B-B", credential_id=signer.credential_id)
    assert named.status_code == 200, named.text
    foreign = sign(signers[0], simple_pdf(), level="B-B", credential_id=signers[1].credential_id)
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "credential.not_found"


def test_second_factor_is_required_to_sign_once_enrolled(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    totp = enrol_otp(signer.account)
    without = sign(signer, simple_pdf(), level="B-B")
    assert without.status_code == 400
    assert without.json()["code"] == "auth.otp_required"
    code = totp.at(time.time() + 30)  # the next step: the confirmation used this one
    assert sign(signer, simple_pdf(), level="B-B", otp=code).status_code == 200
    replay = sign(signer, simple_pdf(text="again"), level="B-B", otp=code)
    assert replay.status_code == 400
    assert replay.json()["code"] == "auth.invalid_credentials"


class CountingTsa:
    """An RFC 3161 endpoint that hands each request to the kyso server's own TSA over HTTP
    and counts them: the time-stamps a server asks for, seen from outside it."""

    def __init__(self) -> None:
        self.count = 0
        self.target = ""
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                relay.count += 1
                answer = httpx.post(relay.target, content=body, timeout=30, headers={
                    "Content-Type": "application/timestamp-query"})  # fmt: skip
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/tsa"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def counted_tsa_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KysoServer, CountingTsa]]:
    """An installation that time-stamps through ``CountingTsa`` (our own TSA behind it)."""
    tsa = CountingTsa()
    directory = tmp_path_factory.mktemp(f"counted-tsa-{backend}")
    with fresh_database(backend, directory) as url:
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url,
                             extra_env={"KYSO_TSA_URL": tsa.url}).start()  # fmt: skip
        tsa.target = f"{running.url}/pki/tsa"
        try:
            yield running, tsa
        finally:
            running.stop()
            tsa.http.shutdown()


def test_twenty_parallel_requests_with_one_key_sign_time_stamp_and_charge_once(
    counted_tsa_server: tuple[KysoServer, CountingTsa],
) -> None:
    server, tsa = counted_tsa_server
    (signer,) = make_signers(server, count=1)
    pdf = simple_pdf(text="hai mươi yêu cầu")
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: sign(signer, pdf, key="mot-khoa", level="B-T"),
                                range(20)))  # fmt: skip
    fresh = [a for a in answers if a.status_code == 200 and "idempotent-replayed" not in a.headers]
    replayed = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
    busy = [a for a in answers if a.status_code == 409]
    assert (len(fresh), len(replayed) + len(busy)) == (1, 19), [a.text[:100] for a in answers]
    assert {a.json()["code"] for a in busy} <= {"request.in_progress"}
    assert all(int(a.headers["retry-after"]) >= 1 for a in busy)
    assert all(a.content == fresh[0].content for a in replayed)
    assert tsa.count == 1, "one time-stamp"
    assert _records(server, signer.account.id) == (1, 1), "one signature, one charge"
    (event,) = [e for e in usage(signer) if e["signature_id"] == fresh[0].headers["x-signature-id"]]
    assert event["amount"] == 4_000
    credential = signer.account.client.get("/v1/me/credentials").json()[0]
    assert credential["failed_pin_attempts"] == 0
    again = sign(signer, pdf, key="mot-khoa", level="B-T")  # after: the replay, nothing new
    assert (again.status_code, again.headers["idempotent-replayed"]) == (200, "true")
    assert (tsa.count, _records(server, signer.account.id)) == (1, (1, 1))
