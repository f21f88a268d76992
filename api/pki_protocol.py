"""``POST /pki/ocsp`` and ``POST /pki/tsa`` answered in the HTTP protocol, below ASGI.

An OCSP answer pre-produced for a request without a nonce costs about 17 µs in process; served
through ASGI it cost about 100 µs, most of it the request's task, its scope, its messages and
the middleware around the app (profiles in ``bench/README.md``). ``kyso serve`` therefore runs
uvicorn with this protocol: the slow-client bounds of :mod:`api.slow_clients`, and a POST to
either PKI path whose body's length is declared and within the PKI limit answered as soon as the
body is in, by the same answer functions as :mod:`api.pki_fast_path` and the routes, with the
same response headers (``X-Request-ID`` included), the same latency histogram and access-log
line (:mod:`api.request_log`).

Everything else goes to the app as before, and so does a PKI request that arrives while an
earlier request of the same connection is still being answered (pipelined behind it), asks for
``100-continue``, or follows another PKI request in the same read from the socket: the app's own
fast path and routes answer those. The answer is computed within the parser's callback and
queued; the queue is written once the event loop has handled the reads of its turn (one
``call_soon``), before any task the app starts behind it, so answers leave in the order their
requests came. Written from within the read callback instead, a pre-produced answer took about
1.6 times the processor time on this VM (73 µs against 44 µs, one process at one full processor;
perf: the kernel's wake-up path grew), below the engine's own fixed-bytes ceiling
(``bench/README.md``). A connection's
last answer (HTTP/1.0, ``Connection: close``), a failure's 500 and uvicorn's 400 for bytes its
parser refuses are written at once, after what is queued, and the connection closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.pki_services import PKI_ANSWERS, PkiServices, declared_length
from api.request_log import record, request_id_of
from api.slow_clients import BoundedHttpToolsProtocol

__all__ = ["PROTOCOL", "PkiAnswering", "PkiAnsweringProtocol"]

PROTOCOL = "api.pki_protocol:PkiAnsweringProtocol"
"""What ``kyso serve`` gives uvicorn as its HTTP protocol (by name: workers import it)."""

logger = logging.getLogger("kyso.api")

_ANSWERS: dict[bytes, tuple[str, Callable[[PkiServices, bytes], bytes], bytes]] = {
    path.encode(): (path, answer_for, media_type)
    for path, (answer_for, media_type) in PKI_ANSWERS.items()
}
"""The PKI paths, as the raw request target the parser hands over."""


class _Head:
    """``200 OK`` and uvicorn's default headers, encoded once per list of them (uvicorn makes a
    new list when its ``date`` header changes)."""

    def __init__(self) -> None:
        self._for: list[tuple[bytes, bytes]] | None = None
        self._encoded = b""

    def of(self, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        if default_headers is not self._for:
            lines = [b"HTTP/1.1 200 OK\r\n"]
            for name, value in default_headers:
                lines += [name, b": ", value, b"\r\n"]
            self._for, self._encoded = default_headers, b"".join(lines)
        return self._encoded


_HEAD = _Head()


@dataclass(frozen=True)
class PkiAnswering:
    """What the protocol needs from the app: set as ``app.state.pki_answering`` by the factory."""

    pki: PkiServices
    limit: int
    """The largest PKI request body answered (``KYSO_MAX_PKI_REQUEST_BYTES``)."""
    access_log: bool


@dataclass(slots=True)
class _PkiRequest:
    """A PKI POST being read by the protocol itself."""

    path: str
    answer_for: Callable[[PkiServices, bytes], bytes]
    media_type: bytes
    request_id: bytes
    keep_alive: bool
    started: float
    body: list[bytes] = field(default_factory=list)
    complete: bool = False
    answered: bool = False
    ignored: bool = False
    """Parsed after the connection began closing: neither answered nor passed on."""


def _nothing(pki: PkiServices, body: bytes) -> bytes:
    return b""


def _installed(app: Any) -> PkiAnswering | None:
    """The app's :class:`PkiAnswering`, found under uvicorn's wrappers (``.app`` each)."""
    for _ in range(8):
        found = getattr(getattr(app, "state", None), "pki_answering", None)
        if isinstance(found, PkiAnswering):
            return found
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class PkiAnsweringProtocol(BoundedHttpToolsProtocol):
    """uvicorn's httptools protocol, bounded against slow clients, answering PKI POSTs itself.

    At most one PKI request is answered per read from the socket (the ones pipelined behind it
    in the same read go to the app, as tasks: one client cannot hold the event loop), none on a
    connection already closing, and reading pauses while the client does not take its answers.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answering = _installed(self.app)
        self._pki: _PkiRequest | None = None
        self._answered_this_read = False
        self._paused_for_answers = False
        self._queued: list[bytes] = []
        """Answers decided, not yet written: :meth:`_write_queued` writes them, in order."""

    def _current_request(self) -> tuple[object, bool, bool] | None:
        pki = self._pki
        if pki is None:
            return super()._current_request()
        return pki, not pki.complete, pki.answered

    def data_received(self, data: bytes) -> None:
        self._answered_this_read = False
        super().data_received(data)

    def on_headers_complete(self) -> None:
        # a request parsed after an answer written in this same read: the keep-alive timer that
        # answer armed is not for it (uvicorn disarms it when data arrives, before parsing)
        self._unset_keepalive_if_required()
        if self.transport.is_closing():  # behind a last answer (HTTP/1.0, a failure): ignored
            self._pki = _PkiRequest(path="", answer_for=_nothing, media_type=b"", request_id=b"",
                                    keep_alive=False, started=0.0, ignored=True)  # fmt: skip
            return
        self._pki = self._pki_request()
        if self._pki is None:
            super().on_headers_complete()

    def _pki_request(self) -> _PkiRequest | None:
        """The request, when this protocol answers it; None when the app does."""
        answering = self._answering
        if answering is None or self.parser.get_method() != b"POST" or self.expect_100_continue:
            return None
        if self._answered_this_read:
            return None  # the app's turn: a task each, the loop runs between them
        if self.cycle is not None and not self.cycle.response_complete:
            return None  # pipelined behind a request the app is answering: its turn comes after
        if self.parser.should_upgrade():
            return None
        found = _ANSWERS.get(self.url)
        if found is None:
            return None  # another path, or this one with a query or %-escapes: the app's
        length = declared_length(self.headers)
        if length is None or length > answering.limit:
            return None  # the app answers it (chunked) or refuses it (too long) in problem+json
        path, answer_for, media_type = found
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        return _PkiRequest(path=path, answer_for=answer_for, media_type=media_type,
                           request_id=request_id_of(self.headers), keep_alive=keep_alive,
                           started=time.perf_counter())  # fmt: skip

    def on_body(self, body: bytes) -> None:
        pki = self._pki
        if pki is None:
            super().on_body(body)
        elif not pki.ignored:
            pki.body.append(body)

    def on_message_complete(self) -> None:
        pki = self._pki
        if pki is None:
            super().on_message_complete()
            return
        pki.complete = True
        self._answered_this_read = True
        if pki.ignored or self.transport.is_closing():  # the client is gone, or told so
            pki.answered = True
            return
        answering = self._answering
        assert answering is not None
        try:
            answer = pki.answer_for(answering.pki, b"".join(pki.body))
            head = [_HEAD.of(self.server_state.default_headers), b"content-type: ",
                    pki.media_type, b"\r\ncontent-length: %d\r\n" % len(answer),
                    b"x-request-id: ", pki.request_id, b"\r\n"]  # fmt: skip
        except Exception:  # the answer functions answer in their protocol's terms; not this
            logger.exception("the %s answer failed", pki.path)
            self._fail(pki)
            return
        if not pki.keep_alive:
            head.append(b"connection: close\r\n")
        head += [b"\r\n", answer]
        # logged before it leaves: whoever has the answer finds its line (its time is the
        # answer's, without the write)
        record(method="POST", route=pki.path, path=pki.path, status=200, sent=len(answer),
               seconds=time.perf_counter() - pki.started, request_id=pki.request_id,
               access_log=answering.access_log)  # fmt: skip
        pki.answered = True
        if not pki.keep_alive:  # the last answer: out now, closed, nothing behind it is read
            self._write_queued()
            self.transport.write(b"".join(head))
            self.transport.close()
            return
        if not self._queued:
            self.loop.call_soon(self._write_queued)
        self._queued.append(b"".join(head))
        self.on_response_complete()

    def _write_queued(self) -> None:
        """Writes the answers queued (none once the connection is closing: no one takes them),
        then stops reading while the client does not take its answers."""
        queued, self._queued = self._queued, []
        if not queued or self.transport.is_closing():
            return
        self.transport.write(b"".join(queued))
        if self.flow.write_paused and not self._paused_for_answers:
            self.flow.pause_reading()
            self._paused_for_answers = True

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes its parser refused, then the close: what is queued first
        (a request answered earlier in the same read)."""
        self._write_queued()
        super().send_400_response(msg)

    def _fail(self, pki: _PkiRequest) -> None:
        self._write_queued()
        message = b"Internal Server Error"
        self.transport.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain"
                             b"\r\ncontent-length: %d\r\nx-request-id: %s\r\nconnection: close"
                             b"\r\n\r\n%s" % (len(message), pki.request_id, message))  # fmt: skip
        pki.answered = True
        self.transport.close()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._paused_for_answers:
            self._paused_for_answers = False
            self.flow.resume_reading()

    def shutdown(self) -> None:
        """A graceful stop lets a PKI request whose body is still coming finish, then closes
        (as uvicorn does for the app's requests); answers already queued leave first."""
        self._write_queued()
        pki = self._pki
        if pki is not None and not pki.answered:
            pki.keep_alive = False
        else:
            super().shutdown()
