"""``POST /pki/ocsp`` answered below the framework: the OCSP responder's hot path.

An OCSP answer is a status read, a signature and a few hundred bytes; routing, dependency
injection and an ORM session cost several times that. This ASGI layer answers a POST to
``/pki/ocsp`` with a declared body within the PKI limit itself, with the same responder as the
route (:func:`api.routes.pki.ocsp_post`, which still answers everything else: chunked bodies,
over-long ones, which it refuses in problem+json, and the GET binding).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pki_services import PkiServices, ocsp_answer

__all__ = ["OcspFastPath"]

PATH = "/pki/ocsp"
_HEADERS_TEMPLATE = (b"content-type", b"application/ocsp-response")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class OcspFastPath:
    """Answers ``POST /pki/ocsp`` itself when the body's length is declared and allowed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        pki: PkiServices,
        limit: int,
    ) -> None:
        self.app = app
        self._pki = pki
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        length = _declared_length(scope)
        if length is None or length > self._limit:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, length)
        if body is None:
            return  # the client went away; there is no one to answer
        answer = ocsp_answer(self._pki, body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_HEADERS_TEMPLATE, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


async def _read_body(receive: Receive, length: int) -> bytes | None:
    """The body (at most ``length`` bytes are kept); None when the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= length:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
