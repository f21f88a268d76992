"""The HTTP protocol answers the PKI POSTs itself: the app is never called for them, and
everything else still reaches it (uvicorn's own protocol machinery, a transport that records)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from asn1crypto import ocsp, tsp
from uvicorn.config import Config
from uvicorn.server import ServerState

from api import pki_protocol
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
    """An ASGI app that records what reaches it and answers 204 (``/v1/slow`` after 0.3 s)."""

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
        if scope["path"] == "/v1/slow":
            await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:  # as a socket's: nothing leaves once closed
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


Step = bytes | Callable[[PkiAnsweringProtocol], None]


def _serve(
    local_ca: LocalCa, steps: list[Step], *, keep_alive: float = 5
) -> tuple[_App, _Transport]:
    """A connection of the protocol: each step is bytes the client sends (then the app gets
    0.05 s to answer what reached it) or something done to the protocol."""
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
        config = Config(app=app, proxy_headers=False, log_config=None,
                        timeout_keep_alive=keep_alive)  # fmt: skip
        config.load()
        protocol = PkiAnsweringProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)
        for step in steps:
            if isinstance(step, bytes):
                protocol.data_received(step)
                await asyncio.sleep(0.05)
            else:
                step(protocol)
        await asyncio.sleep(0.4)
        protocol.connection_lost(None)

    asyncio.run(run())
    pki.ocsp_source.close()
    return app, transport


def _statuses(transport: _Transport) -> list[bytes]:
    return [answer[:3] for answer in transport.written.split(b"HTTP/1.1 ")[1:]]


def _ocsp(local_ca: LocalCa, version: bytes = b"1.1", extra: bytes = b"") -> bytes:
    request = build_request(local_ca.authority.issuing, 0x99)
    return (b"POST /pki/ocsp HTTP/%s\r\nHost: kyso\r\nContent-Length: %d\r\n%s\r\n%s"
            % (version, len(request), extra, request))  # fmt: skip


def test_pki_posts_never_reach_the_app_and_other_requests_do(local_ca: LocalCa) -> None:
    request = _post(b"/pki/ocsp", build_request(local_ca.authority.issuing, 0x99))
    split = len(request) - 20  # the body's end comes in a second piece
    pieces = [request, _post(b"/v1/other", b"{}"), request[:split], request[split:]]
    app, transport = _serve(local_ca, pieces)
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
    local_ca: LocalCa, why: str, request_bytes: bytes
) -> None:
    app, transport = _serve(local_ca, [request_bytes])
    assert app.paths == ["/pki/ocsp"], why
    assert b"HTTP/1.1 204 No Content" in transport.written, why  # after a 100 Continue, or alone


def test_one_pki_answer_per_read_the_rest_are_the_apps_tasks(local_ca: LocalCa) -> None:
    """A client pipelining many cannot hold the event loop: after one answer, the app's tasks
    (the event loop runs between them) answer the rest, in order."""
    app, transport = _serve(local_ca, [_ocsp(local_ca) * 3])
    assert _statuses(transport) == [b"200", b"204", b"204"]
    assert app.paths == ["/pki/ocsp", "/pki/ocsp"]


def test_requests_behind_a_last_answer_are_neither_answered_nor_passed_on(
    local_ca: LocalCa,
) -> None:
    """HTTP/1.0 asking to keep the connection: uvicorn closes it after the answer anyway, and
    the parser, told to keep going, reads on."""
    last = _ocsp(local_ca, b"1.0", b"Connection: keep-alive\r\n")
    behind = _ocsp(local_ca) + _post(b"/v1/other", b"{}")
    app, transport = _serve(local_ca, [last + behind])
    assert _statuses(transport) == [b"200"]
    assert b"connection: close" in transport.written
    assert transport.closed
    assert app.paths == []


def _break_answer(monkeypatch: pytest.MonkeyPatch, target: bytes) -> None:
    """The answer function of ``target`` raises."""

    def broken(pki: PkiServices, body: bytes) -> bytes:
        raise RuntimeError("broken answer")

    path, _, media_type = pki_protocol._ANSWERS[target]
    monkeypatch.setitem(pki_protocol._ANSWERS, target, (path, broken, media_type))


def test_an_answer_that_fails_is_a_500_and_the_connection_closes(
    local_ca: LocalCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_answer(monkeypatch, b"/pki/ocsp")
    _, transport = _serve(local_ca, [_ocsp(local_ca)])
    assert _statuses(transport) == [b"500"]
    assert transport.closed


def test_reading_pauses_while_the_client_does_not_take_its_answers(local_ca: LocalCa) -> None:
    seen: list[bool] = []
    _serve(local_ca, [
        lambda protocol: protocol.pause_writing(),  # the transport's buffer is full
        _ocsp(local_ca),
        lambda protocol: seen.append(protocol.flow.read_paused),
        lambda protocol: protocol.resume_writing(),
        lambda protocol: seen.append(protocol.flow.read_paused),
    ])  # fmt: skip
    assert seen == [True, False]


def test_an_app_request_behind_an_answer_is_not_cut_by_the_keep_alive_timer(
    local_ca: LocalCa,
) -> None:
    """The answer armed the keep-alive timer (0.1 s here) while the app's request behind it in
    the same read had yet to be answered (0.3 s)."""
    app, transport = _serve(local_ca, [_ocsp(local_ca) + _post(b"/v1/slow", b"{}")],
                            keep_alive=0.1)  # fmt: skip
    assert app.paths == ["/v1/slow"]
    assert _statuses(transport) == [b"200", b"204"]


def test_a_graceful_stop_lets_a_pki_body_still_coming_finish(local_ca: LocalCa) -> None:
    request = _ocsp(local_ca)
    closed_at_stop: list[bool] = []
    _, transport = _serve(local_ca, [
        request[:-10],
        lambda protocol: protocol.shutdown(),
        lambda protocol: closed_at_stop.append(protocol.transport.is_closing()),
        request[-10:],
    ])  # fmt: skip
    assert closed_at_stop == [False]
    assert _statuses(transport) == [b"200"]
    assert b"connection: close" in transport.written
    assert transport.closed


def _tsa(extra: bytes = b"") -> bytes:
    query = tsp.TimeStampReq({"version": 1, "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": os.urandom(32)}}).dump()  # fmt: skip
    return _post(b"/pki/tsa", query, extra)


def _written(protocol: PkiAnsweringProtocol) -> bytes:
    return cast(_Transport, protocol.transport).written


def test_answers_leave_after_the_reads_of_their_loop_turn_in_order(local_ca: LocalCa) -> None:
    """Two reads in one turn of the event loop (libuv reads a busy socket again at once):
    nothing is written within the read callbacks; then both answers, in order, and the app's
    answer behind them."""
    written_within_reads: list[bytes] = []

    def two_reads(protocol: PkiAnsweringProtocol) -> None:
        protocol.data_received(_ocsp(local_ca))
        protocol.data_received(_tsa() + _post(b"/v1/other", b"{}"))
        written_within_reads.append(_written(protocol))

    app, transport = _serve(local_ca, [two_reads])
    assert written_within_reads == [b""]
    answers = transport.written.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"200", b"204"]
    assert b"content-type: application/ocsp-response" in answers[0]
    assert b"content-type: application/timestamp-reply" in answers[1]
    assert app.paths == ["/v1/other"]


def test_a_last_answer_leaves_after_the_answers_queued_before_it(local_ca: LocalCa) -> None:
    def two_reads(protocol: PkiAnsweringProtocol) -> None:
        protocol.data_received(_ocsp(local_ca))
        protocol.data_received(_tsa(b"Connection: close\r\n") + _ocsp(local_ca))

    app, transport = _serve(local_ca, [two_reads])
    answers = transport.written.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"200"]
    assert b"application/ocsp-response" in answers[0]
    assert b"application/timestamp-reply" in answers[1]
    assert b"connection: close" in answers[1]
    assert transport.closed
    assert app.paths == []  # the request behind the last answer is neither answered nor passed on


def test_answers_queued_at_a_graceful_stop_leave_before_the_close(local_ca: LocalCa) -> None:
    def read_then_stop(protocol: PkiAnsweringProtocol) -> None:
        protocol.data_received(_ocsp(local_ca))
        protocol.shutdown()

    _, transport = _serve(local_ca, [read_then_stop])
    assert _statuses(transport) == [b"200"]
    assert transport.closed


def test_an_answer_that_fails_leaves_after_the_answers_queued_before_it(
    local_ca: LocalCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_answer(monkeypatch, b"/pki/tsa")

    def two_reads(protocol: PkiAnsweringProtocol) -> None:
        protocol.data_received(_ocsp(local_ca))
        protocol.data_received(_tsa())

    _, transport = _serve(local_ca, [two_reads])
    assert _statuses(transport) == [b"200", b"500"]
    assert transport.closed


def test_bytes_the_parser_refuses_after_an_answer_get_their_400_after_it(local_ca: LocalCa) -> None:
    """A body longer than its Content-Length: the rest parses as a bad request line, and
    uvicorn answers 400 and closes within the same read; the answer queued before it leaves
    first."""
    _, transport = _serve(local_ca, [_ocsp(local_ca) + b"BOGUS\r\n\r\n"])
    assert _statuses(transport) == [b"200", b"400"]
    assert transport.closed
