"""``POST /pki/ocsp`` and ``POST /pki/tsa`` answered below the framework: the PKI hot paths.

An OCSP answer is a status read, a signature and a few hundred bytes; a time-stamp is a
signature and a few hundred more. Routing, dependency injection and the request object cost a
good part of that. This ASGI layer answers a POST to either path whose body length is declared
and within the PKI limit, with the same answer functions as the routes
(:mod:`api.routes.pki`), which still answer everything else: chunked bodies, over-long ones
(refused there in problem+json) and OCSP's GET binding. Under uvicorn, ``kyso serve``'s HTTP
protocol answers most of these POSTs before ASGI (:mod:`api.pki_protocol`); this layer answers
them under granian and in the cases the protocol leaves to the app.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pki_services import PKI_ANSWERS, PkiServices, declared_length

__all__ = ["PkiFastPath"]


class PkiFastPath:
    """Answers the PKI protocols' POSTs itself when the body's length is declared and allowed."""

    def __init__(self, app: ASGIApp, *, pki: PkiServices, limit: int) -> None:
        self.app = app
        self._pki = pki
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = PKI_ANSWERS.get(scope["path"]) if scope["type"] == "http" else None
        if found is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope["headers"])
        if length is None or length > self._limit:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, length)
        if body is None:
            return  # the client went away; there is no one to answer
        answer_for, media_type = found
        answer = answer_for(self._pki, body)
        headers = [(b"content-type", media_type), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
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
