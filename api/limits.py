"""Request body limits enforced while the body streams in (413 before it is all read)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit"]


_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tệp quá lớn · kyso</title>
<link rel="stylesheet" href="/static/kyso.css"></head><body><main>
<h1>Tệp quá lớn</h1><p class="notice error">Tệp bạn gửi lớn hơn {mb} MB, mức tối đa cho trang này.
Hãy quay lại và chọn một tệp nhỏ hơn. Bạn chưa bị trừ tiền.</p>
<p lang="en">The file is larger than {mb} MB, the most this page accepts. Go back and choose a
smaller file. You have not been charged.</p><p><a href="/">kyso</a></p>
</main></body></html>"""


async def _too_large(send: Send, limit: int, *, page: bool) -> None:
    """problem+json for programs; a page in words for a browser (it asked for text/html)."""
    if page:
        body = _PAGE.replace("{mb}", f"{limit / 1024 / 1024:g}").encode()
        kind = b"text/html; charset=utf-8"
    else:
        body = json.dumps(
            {
                "type": "urn:kyso:problem:request.too_large",
                "title": "Request too large",
                "status": 413,
                "code": "request.too_large",
                "detail": f"the request body exceeds {limit} bytes",
            }
        ).encode()
        kind = b"application/problem+json"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Answers 413 when a request body is, or turns out to be, larger than its path allows.

    A declared Content-Length over the limit is refused before the body is read; a chunked
    body is cut off at the limit, the application sees a disconnect and its answer is dropped.
    """

    def __init__(self, app: ASGIApp, *, limits: dict[str, int], default: int) -> None:
        self.app = app
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))
        self.default = default

    def _limit(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        headers = dict(scope.get("headers", []))
        page = b"text/html" in headers.get(b"accept", b"")
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit, page=page)
            return
        received = 0
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    answered = True
                    await _too_large(send, limit, page=page)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
