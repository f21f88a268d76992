"""Request body limits enforced while the body streams in (413 before it is all read)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge

__all__ = ["BodySizeLimit"]


class BodySizeLimit:
    """Counts the bytes of each request body; past the limit for its path, the read fails
    with ``PayloadTooLarge`` (answered 413 by the error handlers)."""

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
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise_too_large = True
                break
        else:
            raise_too_large = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if raise_too_large:
                raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)
