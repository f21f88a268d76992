"""What operators read: ``/metrics`` after a journey shows that journey's counts (parsed by
prometheus-client's own parser), every access-log line is JSON and carries the request id of
its response, with nothing personal in it; with two workers the counts add up."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asn1crypto import ocsp, tsp, x509
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.signing_helpers import Signer, make_signers, sign
from tests.support.databases import fresh_database
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer, run_kyso


@pytest.fixture(scope="module")
def watched(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A server of its own (its counts start at zero) writing its access log to a file."""
    directory = tmp_path_factory.mktemp(f"operated-{backend}")
    with fresh_database(backend, directory) as url:
        running = KysoServer(
            data_dir=directory / "kyso-data",
            database_url=url,
            extra_env={"KYSO_ACCESS_LOG": str(directory / "access.log")},
        )
        running.start()  # fmt: skip
        try:
            yield running
        finally:
            running.stop()


def _samples(server: KysoServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(f"{server.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _ocsp_request(server: KysoServer) -> bytes:
    issuer = x509.Certificate.load(httpx.get(f"{server.url}/pki/ca/issuing.crt").content)
    cert_id = ocsp.CertId({
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": hashlib.sha1(issuer.subject.dump()).digest(),  # noqa: S324 - OCSP's
        "issuer_key_hash": hashlib.sha1(issuer.public_key["public_key"].contents).digest(),  # noqa: S324
        "serial_number": 123456789,
    })  # fmt: skip
    return ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}}).dump()


def _tsa_request() -> bytes:
    return tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(b"kyso").digest()},
        "cert_req": True,
    }).dump()  # fmt: skip


def _journey(server: KysoServer, signer: Signer) -> None:
    for n in range(2):
        assert sign(signer, simple_pdf(), key=f"metrics-{n}", level="B-B").status_code == 200
    assert sign(signer, simple_pdf(), pin="000000", level="B-B").status_code == 403
    verified = signer.account.client.post(
        "/v1/verifications", files={"file": ("a.pdf", simple_pdf(), "application/pdf")}
    )
    assert verified.status_code == 200, verified.text
    for _ in range(3):
        answer = httpx.post(f"{server.url}/pki/ocsp", content=_ocsp_request(server),
                            headers={"Content-Type": "application/ocsp-request"})  # fmt: skip
        assert answer.status_code == 200
    httpx.post(f"{server.url}/pki/ocsp", content=b"\x30\x00")
    tsa = httpx.post(f"{server.url}/pki/tsa", content=_tsa_request(),
                     headers={"Content-Type": "application/timestamp-query"})  # fmt: skip
    assert tsa.status_code == 200


def test_metrics_show_the_counts_of_a_journey(watched: KysoServer) -> None:
    (signer,) = make_signers(watched, 1)
    before = _samples(watched)
    _journey(watched, signer)
    after = _samples(watched)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("kyso_signatures_total", product="signature.B-B") == 2
    assert grew("kyso_charges_total", product="signature.B-B") == 2
    assert grew("kyso_charged_vnd_total", product="signature.B-B") == 2 * 4000
    assert grew("kyso_charges_total", product="verification") == 1
    assert grew("kyso_verifications_total", indication="TOTAL_FAILED") == 1  # unsigned
    assert grew("kyso_ocsp_answers_total", status="successful") == 3
    assert grew("kyso_ocsp_answers_total", status="malformed_request") == 1
    assert grew("kyso_tsa_answers_total", status="granted") == 1
    assert grew("kyso_errors_total", code="credential.wrong_pin") == 1
    route = {"method": "POST", "route": "/v1/signatures"}
    assert grew("kyso_request_duration_seconds_count", **route) == 3
    assert grew("kyso_request_duration_seconds_count", method="POST", route="/pki/ocsp") == 4
    assert grew("kyso_request_duration_seconds_bucket", le="+Inf", **route) == 3


def test_every_access_log_line_is_json_with_its_response_id(watched: KysoServer) -> None:
    cccd = "001203004567"
    answers = [
        httpx.get(f"{watched.url}/healthz"),
        httpx.get(f"{watched.url}/healthz", headers={"X-Request-ID": "lb-7f3a.2:1"}),
        httpx.get(f"{watched.url}/healthz", headers={"X-Request-ID": "bad id;<drop>"}),
        httpx.get(f"{watched.url}/v1/me?access_token=s3cr3t-t0ken"),
        httpx.get(f"{watched.url}/v1/proofing/{cccd}"),
        httpx.post(f"{watched.url}/pki/ocsp", content=b"\x30\x00"),
    ]
    ids = [a.headers["x-request-id"] for a in answers]
    assert ids[1] == "lb-7f3a.2:1"  # a sane incoming id is kept
    assert re.fullmatch(r"[0-9a-f]{32}", ids[2])  # another is replaced
    assert len(set(ids)) == len(ids)
    log = (watched.data_dir.parent / "access.log").read_text()
    lines = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    by_id = {line["request_id"]: line for line in lines}
    for answer, request_id in zip(answers, ids, strict=True):
        line = by_id[request_id]
        assert line["status"] == answer.status_code
        assert line["method"] == answer.request.method
        assert line["path"] == answer.request.url.path.replace(cccd, "{digits}")
    assert by_id[ids[4]]["route"] == "/v1/proofing/{user_id}"
    assert "s3cr3t" not in log
    assert cccd not in log
    assert {"time", "duration_ms", "bytes", "route"} <= lines[0].keys()


def test_two_workers_add_up_their_counts(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        server = KysoServer(data_dir=tmp_path / "kyso-data", database_url=url, workers=2)
        server.start()
        try:
            body = _ocsp_request(server)
            for _ in range(12):  # new connections: both workers answer some
                with httpx.Client() as fresh:
                    fresh.post(f"{server.url}/pki/ocsp", content=body)
            samples = _samples(server)
        finally:
            server.stop()
    assert _value(samples, "kyso_ocsp_answers_total", status="successful") == 12


@pytest.mark.parametrize(
    "command",
    [("--help",), ("admin", "--help"), ("admin", "check-ledger"), ("admin", "purge-documents"),
     ("admin", "audit", "verify"), ("billing", "--help")],
)  # fmt: skip
def test_cli_commands_print_no_warnings(watched: KysoServer, command: tuple[str, ...]) -> None:
    env = {**watched.env, "PYTHONWARNINGS": "default"}  # what python -W default shows
    done = run_kyso(env, *command)
    assert "Warning" not in done.stderr, done.stderr


def test_a_metrics_token_keeps_metrics_private(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        server = KysoServer(data_dir=tmp_path / "kyso-data", database_url=url,
                            extra_env={"KYSO_METRICS_TOKEN": "m3trics-t0ken"}).start()  # fmt: skip
        try:
            anonymous = httpx.get(f"{server.url}/metrics")
            wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer no"})
            right = httpx.get(f"{server.url}/metrics",
                              headers={"Authorization": "Bearer m3trics-t0ken"})  # fmt: skip
        finally:
            server.stop()
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.invalid_token")
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "kyso_request_duration_seconds" in right.text
