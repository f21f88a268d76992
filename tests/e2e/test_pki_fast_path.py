"""The PKI POSTs answered below the framework and through the routes give the same answers.

A body with its length declared takes the fast path (:mod:`api.pki_fast_path`); a chunked body
goes through the FastAPI route. Both must answer alike, and both must follow a revocation at once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
from asn1crypto import ocsp, tsp

from tests.support.pki import PkiFiles, issue_with_csr, openssl
from tests.support.server import KysoServer


def _chunked(body: bytes) -> Iterator[bytes]:
    yield body[:7]
    yield body[7:]


def _post_both(url: str, body: bytes, kind: str) -> list[httpx.Response]:
    headers = {"Content-Type": kind}
    declared = httpx.post(url, content=body, headers=headers)
    chunked = httpx.post(url, content=_chunked(body), headers=headers)
    assert "content-length" in declared.request.headers
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    return [declared, chunked]


def _single(response: httpx.Response) -> ocsp.SingleResponse:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ocsp-response"
    parsed = ocsp.OCSPResponse.load(response.content)
    assert parsed["response_status"].native == "successful"
    return parsed.basic_ocsp_response["tbs_response_data"]["responses"][0]


def test_ocsp_answers_alike_on_both_paths_and_follows_a_revocation(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(server, workdir)
    request = workdir / "req.der"
    openssl("ocsp", "-issuer", str(pki.issuing), "-cert", str(issued.certificate),
            "-reqout", str(request))  # fmt: skip
    url = f"{server.url}/pki/ocsp"
    body = request.read_bytes()
    assert [_single(r)["cert_status"].name for r in _post_both(url, body, "x")] == ["good"] * 2

    server.cli("admin", "revoke", "--serial", issued.serial_hex, "--reason", "keyCompromise")
    singles = [_single(r) for r in _post_both(url, body, "application/ocsp-request")]
    assert [s["cert_status"].name for s in singles] == ["revoked"] * 2
    assert {s["cert_status"].chosen["revocation_reason"].native for s in singles} == {
        "key_compromise"
    }


def test_tsa_grants_alike_on_both_paths(server: KysoServer) -> None:
    digest = hashlib.sha256(os.urandom(32)).digest()
    query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": 424242,
            "cert_req": True,
        }
    ).dump()
    for response in _post_both(f"{server.url}/pki/tsa", query, "application/timestamp-query"):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/timestamp-reply"
        reply = tsp.TimeStampResp.load(response.content)
        assert reply["status"]["status"].native == "granted"
        info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
        assert info["message_imprint"]["hashed_message"].native == digest
        assert info["nonce"].native == 424242
