"""PKI POSTs answered in the HTTP protocol itself (:mod:`api.pki_protocol`), over raw sockets
against a real ``kyso serve``: in order with whatever else shares the connection, with the
headers, ids and log lines of every other answer, and closed when HTTP/1.0 asks."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asn1crypto import ocsp, tsp
from cryptography import x509

from certs.ocsp import build_request
from tests.support.server import KysoServer, own_server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    directory = tmp_path_factory.mktemp("pki-protocol")
    env = {"KYSO_ACCESS_LOG": str(directory / "access.log")}
    with own_server("sqlite", directory, extra_env=env) as running:
        yield running


def _requests(server: KysoServer) -> tuple[bytes, bytes, bytes]:
    """An OCSP request without a nonce, one with, and a time-stamp query."""
    issuer = x509.load_der_x509_certificate(httpx.get(f"{server.url}/pki/ca/issuing.crt").content)
    plain = build_request(issuer, 0x1234)
    request = ocsp.OCSPRequest.load(plain)
    nonce = os.urandom(16)
    with_nonce = ocsp.OCSPRequest({"tbs_request": {
        "request_list": [request["tbs_request"]["request_list"][0]],
        "request_extensions": [{"extn_id": "nonce", "extn_value": nonce}],
    }}).dump()  # fmt: skip
    query = tsp.TimeStampReq({"version": 1, "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": os.urandom(32)}}).dump()  # fmt: skip
    return plain, with_nonce, query


def _post(path: str, body: bytes, kind: str, *, version: str = "1.1", extra: str = "") -> bytes:
    head = (f"POST {path} HTTP/{version}\r\nHost: kyso\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")  # fmt: skip
    return head.encode() + body


def _answers(sock: socket.socket, count: int) -> list[tuple[bytes, dict[str, str], bytes]]:
    """``count`` whole responses read off the socket: status line, headers, body."""
    sock.settimeout(20)
    data = b""
    answers = []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            lines = data[:head_end].split(b"\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.decode().partition(":") for line in lines[1:])}  # fmt: skip
            end = head_end + 4 + int(headers["content-length"])
            if len(data) >= end:
                answers.append((lines[0], headers, data[head_end + 4 : end]))
                data = data[end:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answers"
        data += chunk
    return answers


def _ocsp_status(body: bytes) -> str:
    response = ocsp.OCSPResponse.load(body)
    assert response["response_status"].native == "successful"
    single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
    return str(single["cert_status"].name)


def test_pipelined_pki_posts_and_app_requests_are_answered_in_order(served: KysoServer) -> None:
    plain, with_nonce, query = _requests(served)
    pipelined = (_post("/pki/ocsp", plain, "application/ocsp-request",
                       extra="X-Request-ID: portal-17.a\r\n")
                 + b"GET /healthz HTTP/1.1\r\nHost: kyso\r\n\r\n"
                 + _post("/pki/tsa", query, "application/timestamp-query")
                 + _post("/pki/ocsp", with_nonce, "application/ocsp-request")
                 + _post("/pki/ocsp", plain, "application/ocsp-request"))  # fmt: skip
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(pipelined)
        answers = _answers(sock, 5)
    assert [status for status, _, _ in answers] == [b"HTTP/1.1 200 OK"] * 5
    kinds = [headers["content-type"] for _, headers, _ in answers]
    assert kinds[0] == kinds[3] == kinds[4] == "application/ocsp-response"
    assert kinds[1].startswith("application/json")
    assert kinds[2] == "application/timestamp-reply"
    assert json.loads(answers[1][2])["status"] == "ok"
    assert tsp.TimeStampResp.load(answers[2][2])["status"]["status"].native == "granted"
    assert [_ocsp_status(answers[i][2]) for i in (0, 3, 4)] == ["unknown"] * 3
    nonce = ocsp.OCSPRequest.load(with_nonce)["tbs_request"]["request_extensions"][0]
    echoed = ocsp.OCSPResponse.load(answers[3][2]).basic_ocsp_response["tbs_response_data"]
    assert echoed["response_extensions"][0]["extn_value"].native == nonce["extn_value"].native
    assert answers[4][2] == answers[0][2]  # pre-produced: the same answer, not signed again
    ids = [headers["x-request-id"] for _, headers, _ in answers]
    assert ids[0] == "portal-17.a"
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids[1:])
    assert len(set(ids)) == 5


def test_a_pki_post_behind_a_request_the_app_answers_waits_its_turn(served: KysoServer) -> None:
    plain, _, _ = _requests(served)
    form = b"grant_type=password&username=nobody%40kyso.vn&password=wrong-password"
    pipelined = (_post("/v1/auth/token", form, "application/x-www-form-urlencoded")
                 + _post("/pki/ocsp", plain, "application/ocsp-request"))  # fmt: skip
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(pipelined)
        (first, first_headers, _), (second, _, body) = _answers(sock, 2)
    assert first.startswith(b"HTTP/1.1 4")
    assert first_headers["content-type"] == "application/problem+json"
    assert second == b"HTTP/1.1 200 OK"
    assert _ocsp_status(body) == "unknown"


def test_an_http_1_0_pki_post_is_answered_then_closed(served: KysoServer) -> None:
    plain, _, _ = _requests(served)
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(_post("/pki/ocsp", plain, "application/ocsp-request", version="1.0"))
        ((status, headers, body),) = _answers(sock, 1)
        assert sock.recv(1) == b"", "the connection is closed after the answer"
    assert status == b"HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert _ocsp_status(body) == "unknown"


def test_pki_answers_are_logged_and_counted_like_the_apps(served: KysoServer) -> None:
    plain, _, query = _requests(served)

    def answered(path: str) -> float:
        metrics = httpx.get(f"{served.url}/metrics").text
        pattern = (r'kyso_request_duration_seconds_count\{method="POST",route="'
                   + re.escape(path) + r'"\} ([0-9.e+]+)')  # fmt: skip
        found = re.search(pattern, metrics)
        return float(found.group(1)) if found else 0.0

    before = answered("/pki/ocsp"), answered("/pki/tsa")
    ocsp_answer = httpx.post(f"{served.url}/pki/ocsp", content=plain)
    tsa_answer = httpx.post(f"{served.url}/pki/tsa", content=query)
    assert (answered("/pki/ocsp"), answered("/pki/tsa")) == (before[0] + 1, before[1] + 1)
    log = Path(served.data_dir.parent / "access.log").read_text()
    lines = {line["request_id"]: line for line in map(json.loads, log.splitlines())}
    for answer, path in ((ocsp_answer, "/pki/ocsp"), (tsa_answer, "/pki/tsa")):
        line = lines[answer.headers["x-request-id"]]
        assert (line["method"], line["route"], line["path"]) == ("POST", path, path)
        assert (line["status"], line["bytes"]) == (200, len(answer.content))
