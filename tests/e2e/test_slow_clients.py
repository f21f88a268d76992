"""Issue 17 item 11: slow clients are cut off, over raw sockets against a real ``kyso serve``
(bounds shortened to 2 s here; 10 s and 30 s by default)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.server import KysoServer, own_server

BOUND = 2


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    env = {"KYSO_HEADER_TIMEOUT_SECONDS": str(BOUND), "KYSO_BODY_TIMEOUT_SECONDS": str(BOUND)}
    with own_server("sqlite", tmp_path_factory.mktemp("slow"), extra_env=env) as running:
        yield running


def _connect(server: KysoServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setblocking(False)
    return sock


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed the connection (what it sent before is ignored)."""
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    return True


def _drip(sock: socket.socket, data: bytes, every: float, limit: float = 30) -> float:
    """Send ``data`` a byte each ``every`` seconds (then wait); the seconds until the server
    closed the connection."""
    start = time.monotonic()
    position = 0
    while time.monotonic() - start < limit:
        if _closed(sock):
            return time.monotonic() - start
        if position < len(data):
            try:
                sock.send(data[position : position + 1])
            except OSError:
                return time.monotonic() - start
            position += 1
        time.sleep(every)
    raise AssertionError(f"the connection was still open after {limit} s")


def test_a_connection_that_sends_nothing_is_closed(bounded: KysoServer) -> None:
    with _connect(bounded) as sock:
        assert BOUND - 0.5 < _drip(sock, b"", 0.1) < BOUND + 3


def test_slowloris_headers_one_byte_a_second_are_cut_off(bounded: KysoServer) -> None:
    headers = b"GET /healthz HTTP/1.1\r\nHost: kyso\r\n" + b"X-Slow: " + b"a" * 100
    with _connect(bounded) as sock:
        assert _drip(sock, headers, 0.5) < BOUND + 3
    assert f"request headers not complete within {BOUND} s" in bounded.log()


_SLOW_BODIES = {
    "app": b"POST /v1/auth/token HTTP/1.1\r\nHost: kyso\r\nContent-Length: 100000\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n\r\ngrant_type=password",
    # read by the HTTP protocol itself (api/pki_protocol.py), not by the app
    "ocsp": b"POST /pki/ocsp HTTP/1.1\r\nHost: kyso\r\nContent-Length: 60000\r\n"
    b"Content-Type: application/ocsp-request\r\n\r\n\x30\x82",
}


@pytest.mark.parametrize("pace", ["dribble", "stall"])
@pytest.mark.parametrize("reader", sorted(_SLOW_BODIES))
def test_a_slow_request_body_is_cut_off(bounded: KysoServer, pace: str, reader: str) -> None:
    with _connect(bounded) as sock:
        sock.send(_SLOW_BODIES[reader])
        body = b"&username=a" * 100 if pace == "dribble" else b""
        took = _drip(sock, body, 0.2)
    assert BOUND - 0.5 < took < 2 * BOUND + 3


def _answer(sock: socket.socket, deadline: float = 20) -> bytes:
    """One whole response (headers and Content-Length body); its status line."""
    sock.setblocking(True)
    sock.settimeout(deadline)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    sock.setblocking(False)
    return head.split(b"\r\n")[0]


def test_patient_but_steady_clients_are_served(bounded: KysoServer) -> None:
    with _connect(bounded) as sock:
        sock.send(b"GET /healthz HTTP/1.1\r\nHost: kyso\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200")
        time.sleep(BOUND + 1)  # idle between requests: bounded by --keep-alive, not here
        sock.send(b"GET /healthz HTTP/1.1\r\nHost: kyso\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200")
        body = b"grant_type=password&username=a%40b.vn&password=" + b"x" * 9000
        sock.send(b"POST /v1/auth/token HTTP/1.1\r\nHost: kyso\r\nContent-Type: "
                  b"application/x-www-form-urlencoded\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n")  # fmt: skip
        for start in range(0, len(body), 2000):  # 2,000 bytes a second for five seconds
            sock.send(body[start : start + 2000])
            time.sleep(1)
        assert _answer(sock).startswith(b"HTTP/1.1 4"), "answered (a refused sign-in)"


def test_pki_requests_on_one_connection_are_not_cut_off_by_the_header_clock(
    bounded: KysoServer,
) -> None:
    """Answered by the protocol itself, each request still ends its header clock."""
    request = bytes.fromhex("302b3029302730253009")  # only the start: any body will do
    post = (b"POST /pki/ocsp HTTP/1.1\r\nHost: kyso\r\nContent-Type: application/ocsp-request"
            b"\r\nContent-Length: %d\r\n\r\n%s") % (len(request), request)  # fmt: skip
    with _connect(bounded) as sock:
        started = time.monotonic()
        while time.monotonic() - started < 2 * BOUND + 1:  # past both bounds, one connection
            sock.send(post)
            assert _answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.5)
        # a request started but never finished is still cut off
        sock.send(post[:20])
        assert _drip(sock, b"", 0.1) < BOUND + 3
