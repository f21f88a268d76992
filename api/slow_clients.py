"""Slow clients are cut off: request headers and bodies are read within a bound.

uvicorn's HTTP/1.1 protocol (h11) bounds only the idle time between requests
(``--keep-alive``): a client sending one header byte a second, or a body a few bytes at a time,
would hold its connection (and, for a body, a request in the application) for ever. This
protocol adds two clocks per connection, from ``KYSO_HEADER_TIMEOUT_SECONDS``,
``KYSO_BODY_TIMEOUT_SECONDS`` and ``KYSO_BODY_MIN_BYTES_PER_SECOND``:

- the headers of a request must be complete within the header timeout of the connection's
  opening or of the request's first byte (nginx's ``client_header_timeout``);
- while a body is read, every body timeout some of it must have arrived, and on average at
  least the minimum rate since the headers (nginx's ``client_body_timeout``, plus a rate).

A connection over either bound is closed; the application sees the client disconnect.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import Settings

__all__ = ["PROTOCOL", "BoundedH11Protocol", "BoundedHttpToolsProtocol"]

PROTOCOL = "api.slow_clients:BoundedHttpToolsProtocol"
"""What ``kyso serve`` gives uvicorn as its HTTP protocol (by name: workers import it):
httptools' parser (C), as uvicorn chooses by default, with the clocks."""

logger = logging.getLogger("kyso.api")

Phase = Literal["headers", "body", "app", "idle"]


@functools.cache
def _bounds() -> tuple[int, int, int]:
    """This process's bounds (read once from its ``KYSO_*`` environment)."""
    settings = Settings()
    return (settings.header_timeout_seconds, settings.body_timeout_seconds,
            settings.body_min_bytes_per_second)  # fmt: skip


if TYPE_CHECKING:  # the clocks are typed against one protocol; both have what they use
    _Protocol = H11Protocol
else:
    _Protocol = object


class _PaceClocks(_Protocol):
    """A header deadline and a body pace over one of uvicorn's HTTP/1.1 protocols (both keep
    the request in ``self.cycle`` with ``more_body``, and call ``on_response_complete``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_seconds, self._body_seconds, self._min_rate = _bounds()
        self._phase: Phase = "headers"
        self._clock: asyncio.TimerHandle | None = None
        self._seen: object = None
        self._body_started = 0.0
        self._body_bytes = 0
        self._body_bytes_checked = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_seconds, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "idle":  # the first byte of the next request on a kept-alive connection
            self._phase = "headers"
            self._arm(self._header_seconds, self._headers_late)
        elif self._phase == "body":
            self._body_bytes += len(data)
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        if self._phase == "app":
            self._phase = "idle"
        super().on_response_complete()
        self._follow()  # a pipelined request may have started

    def _current_request(self) -> tuple[object, bool, bool] | None:
        """The request being read or answered: (itself, its body still coming, answered)."""
        cycle = self.cycle
        return None if cycle is None else (cycle, cycle.more_body, cycle.response_complete)

    def _follow(self) -> None:
        """Move to the body (or the application) once a request's headers are in."""
        current = self._current_request()
        if current is None:
            return
        request, more_body, answered = current
        if request is not self._seen:
            self._seen = request
            self._disarm()
            if more_body:
                self._phase = "body"
                self._body_started = time.monotonic()
                self._body_bytes = self._body_bytes_checked = 0
                self._arm(self._body_seconds, self._body_check)
            else:
                self._phase = "idle" if answered else "app"
        elif self._phase == "body" and not more_body:
            self._disarm()
            self._phase = "idle" if answered else "app"

    def _arm(self, seconds: float, then: Any) -> None:
        self._disarm()
        self._clock = self.loop.call_later(seconds, then)

    def _disarm(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None

    def _cut(self, why: str) -> None:
        self._clock = None
        if not self.transport.is_closing():
            logger.info("closed a slow connection from %s: %s", self.client[0] if self.client
                        else "?", why)  # fmt: skip
            self.transport.close()

    def _headers_late(self) -> None:
        if self._phase == "headers":
            self._cut(f"request headers not complete within {self._header_seconds} s")

    def _body_check(self) -> None:
        if self._phase != "body":
            return
        if self.flow.read_paused:  # the application is behind, not the client
            self._body_started = time.monotonic()
            self._body_bytes = self._body_bytes_checked = 0
        else:
            elapsed = time.monotonic() - self._body_started
            if self._body_bytes == self._body_bytes_checked:
                self._cut(f"no request body for {self._body_seconds} s")
                return
            if self._body_bytes < self._min_rate * elapsed:
                self._cut(f"request body slower than {self._min_rate} bytes/s")
                return
            self._body_bytes_checked = self._body_bytes
        self._arm(self._body_seconds, self._body_check)


class BoundedHttpToolsProtocol(_PaceClocks, HttpToolsProtocol):  # type: ignore[misc]
    """uvicorn's httptools protocol with a header deadline and a body pace."""


class BoundedH11Protocol(_PaceClocks, H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a body pace."""
