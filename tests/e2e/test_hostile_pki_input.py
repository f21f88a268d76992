"""Garbage, empty and oversized bodies get the protocol's error or a 4xx, never a 500."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from asn1crypto import ocsp

from tests.support.pki import openssl
from tests.support.server import KysoServer

BAD_BODIES = {
    "empty": b"",
    "garbage": b"this is not DER at all",
    "random_bytes": os.urandom(512),
    "truncated_sequence": bytes.fromhex("3082ffff3003020101"),
    "wrong_structure": bytes.fromhex("300602010102010a"),
    "deep_nesting": b"\x30\x80" * 2000,
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_ocsp_answers_malformed_request(server: KysoServer, body: bytes) -> None:
    response = httpx.post(
        f"{server.url}/pki/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"}
    )
    assert response.status_code == 200
    assert ocsp.OCSPResponse.load(response.content)["response_status"].native == "malformed_request"


@pytest.mark.parametrize("path", ["!!!", "AAAA", "%2F%2F%2F", "MA=="])
def test_ocsp_get_with_bad_encoding_answers_malformed_request(
    server: KysoServer, path: str
) -> None:
    response = httpx.get(f"{server.url}/pki/ocsp/{path}")
    assert response.status_code == 200
    assert ocsp.OCSPResponse.load(response.content)["response_status"].native == "malformed_request"


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_tsa_rejects_with_pki_status(server: KysoServer, body: bytes, workdir: Path) -> None:
    response = httpx.post(
        f"{server.url}/pki/tsa",
        content=body,
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/timestamp-reply"
    reply = workdir / "reply.tsr"
    reply.write_bytes(response.content)
    text = openssl("ts", "-reply", "-in", str(reply), "-text").stdout.decode()
    assert "Status: Rejected." in text
    assert "Failure info: the data submitted has the wrong format" in text


@pytest.mark.parametrize("endpoint", ["/pki/ocsp", "/pki/tsa"])
@pytest.mark.parametrize("chunked", [False, True], ids=["with_length", "chunked"])
def test_oversized_body_is_refused_with_413(
    server: KysoServer, endpoint: str, chunked: bool
) -> None:
    body = os.urandom(1024 * 1024)
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = httpx.post(f"{server.url}{endpoint}", content=content)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "request.too_large"


def test_unknown_path_is_problem_json(server: KysoServer) -> None:
    response = httpx.get(f"{server.url}/pki/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "http.not_found"


def test_healthz_reports_database(server: KysoServer) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
