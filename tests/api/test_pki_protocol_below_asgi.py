"""The HTTP protocol answers the PKI POSTs itself: the app is never called for them, and
everything else still reaches it (uvicorn's own protocol machinery, a transport that records)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import ocsp
from uvicorn.config import Config
from uvicorn.server import ServerState

from api.pki_protocol import PkiAnswering, PkiAnsweringProtocol
from api.pki_services import PkiServices
from certs.keys import KeyAlgorithm
from certs.ocsp import OcspResponder, build_request
from certs.revocation import KeptConnectionRevocationSource
from certs.tsa import TimeStampAuthority
from tests.support.local_ca import LocalCa, build_local_ca


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCa]:
    ca = build_local_ca(tmp_path_factory.mktemp("protocol-ca"), KeyAlgorithm.ECDSA_P256)
    yield ca
    ca.engine.dispose()


class _State:
    pki_answering: PkiAnswering


class _App:
    """An ASGI app that records what reaches it and answers 204."""

    def __init__(self, answering: PkiAnswering) -> None:
        self.state = _State()
        self.state.pki_answering = answering
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.paths.append(scope["path"])
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _post(path: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST %s HTTP/1.1\r\nHost: kyso\r\nContent-Length: %d\r\n%s\r\n%s"
            % (path, len(body), extra, body))  # fmt: skip


def _serve(local_ca: LocalCa, tmp_path: Path, data: list[bytes]) -> tuple[_App, _Transport]:
    authority = local_ca.authority
    pki = PkiServices(
        ocsp=OcspResponder(
            issuer=authority.issuing, responder=authority.ocsp, key=authority.ocsp_key
        ),
        ocsp_source=KeptConnectionRevocationSource(local_ca.engine),
        tsa=TimeStampAuthority(
            certificate=authority.tsa, chain=[authority.issuing], key=authority.tsa_key
        ),
    )
    app = _App(PkiAnswering(pki=pki, limit=64 * 1024, access_log=False))
    transport = _Transport()

    async def run() -> None:
        config = Config(app=app, proxy_headers=False, log_config=None)
        config.load()
        protocol = PkiAnsweringProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)
        for piece in data:
            protocol.data_received(piece)
            await asyncio.sleep(0.05)  # the app answers what reached it before the next piece
        protocol.connection_lost(None)

    asyncio.run(run())
    pki.ocsp_source.close()
    return app, transport


def test_pki_posts_never_reach_the_app_and_other_requests_do(
    local_ca: LocalCa, tmp_path: Path
) -> None:
    request = _post(b"/pki/ocsp", build_request(local_ca.authority.issuing, 0x99))
    split = len(request) - 20  # the body's end comes in a second piece
    pieces = [request, _post(b"/v1/other", b"{}"), request[:split], request[split:]]
    app, transport = _serve(local_ca, tmp_path, pieces)
    assert app.paths == ["/v1/other"]
    answers = transport.written.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"204", b"200"]
    for answer in (answers[0], answers[2]):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"content-type: application/ocsp-response" in head
        parsed = ocsp.OCSPResponse.load(body)
        assert parsed["response_status"].native == "successful"


@pytest.mark.parametrize(
    ("why", "request_bytes"),
    [
        ("chunked", b"POST /pki/ocsp HTTP/1.1\r\nHost: kyso\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"2\r\n0\x00\r\n0\r\n\r\n"),
        ("over the limit", b"POST /pki/ocsp HTTP/1.1\r\nHost: kyso\r\nContent-Length: 70000\r\n\r\n"
                           + bytes(70000)),
        ("a query", _post(b"/pki/ocsp?x=1", b"0\x00")),
        ("100-continue", _post(b"/pki/ocsp", b"0\x00", b"Expect: 100-continue\r\n")),
        ("a GET", b"GET /pki/ocsp HTTP/1.1\r\nHost: kyso\r\n\r\n"),
    ],
)  # fmt: skip
def test_what_the_protocol_does_not_answer_goes_to_the_app(
    local_ca: LocalCa, tmp_path: Path, why: str, request_bytes: bytes
) -> None:
    app, transport = _serve(local_ca, tmp_path, [request_bytes])
    assert app.paths == ["/pki/ocsp"], why
    assert b"HTTP/1.1 204 No Content" in transport.written, why  # after a 100 Continue, or alone
