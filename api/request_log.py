"""Every request's id, its latency in the metrics, and its line in the JSON access log.

The outermost ASGI layer (it sees the PKI fast path's answers too). A request keeps the
``X-Request-ID`` its client or load balancer sent when it is sane (1 to 128 letters, digits,
``.``, ``_``, ``:`` or ``-``); otherwise it gets a new one. Either way the response carries it,
and so does the request's access-log line: one JSON object per line, written only when the
access log is on. The line holds no personal data: the route template, the path without its
query string (where tokens travel) and with long digit runs (a CCCD) and long segments
masked, no address, no user agent.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import LATENCY

__all__ = ["ACCESS_LOGGER", "RequestLog", "masked_path", "record", "request_id_of"]

ACCESS_LOGGER = logging.getLogger("kyso.access")
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_DIGITS = re.compile(r"\d{9,}")
_LONG = 40
_UNROUTED = {"/pki/ocsp", "/pki/tsa"}
"""Answered below the router (``api.pki_fast_path``): their paths are their templates."""
_MOUNTS = ("/static/", "/docs/assets/")


def masked_path(path: str) -> str:
    """``path`` with nothing personal: digit runs of nine or more and segments longer than
    forty characters (tokens, OCSP requests) replaced."""
    return "/".join(
        "{long}" if len(part) > _LONG else _DIGITS.sub("{digits}", part) for part in path.split("/")
    )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    path: str = scope.get("path", "")
    if path in _UNROUTED:
        return path
    for mount in _MOUNTS:
        if path.startswith(mount):
            return mount + "*"
    return "unrouted"


class _NewIds:
    """Request ids: 16 random hex digits drawn once per process, then a counter (32 hex digits
    in all, as before; one ``getrandom`` per request took 4 % of an OCSP answer's time)."""

    def __init__(self) -> None:
        self._draw()
        os.register_at_fork(after_in_child=self._draw)  # a forked child draws its own

    def _draw(self) -> None:
        self._prefix = os.urandom(8).hex().encode()
        self._count = itertools.count()

    def next(self) -> bytes:
        return b"%s%016x" % (self._prefix, next(self._count))


_NEW_IDS = _NewIds()


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The client's ``X-Request-ID`` when it is sane, else a new one."""
    for name, value in headers:
        if name == b"x-request-id" and _SANE_ID.match(value):
            return value
    return _NEW_IDS.next()


_TIMERS: dict[tuple[str, str], Histogram] = {}


def record(*, method: str, route: str, path: str, status: int, sent: int, seconds: float,
           request_id: bytes, access_log: bool) -> None:  # fmt: skip
    """One answered request (``sent``: its body's bytes): its latency in the histogram and,
    when ``access_log``, its JSON line."""
    key = (method, route)
    timer = _TIMERS.get(key)
    if timer is None:  # prometheus-client's labels() takes a lock: once per route
        timer = _TIMERS[key] = LATENCY.labels(*key)
    timer.observe(seconds)
    if access_log:
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": request_id.decode(),
            "method": method,
            "route": route,
            "path": masked_path(path),
            "status": status,
            "bytes": sent,
            "duration_ms": round(seconds * 1000, 2),
        }
        ACCESS_LOGGER.info(json.dumps(line, ensure_ascii=False))


class RequestLog:
    """Request ids, the latency histogram and (when ``access_log``) the JSON access log."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope["headers"])
        status = 500
        sent = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record(method=scope["method"], route=_route(scope), path=scope.get("path", ""),
                   status=status, sent=sent, seconds=time.perf_counter() - started,
                   request_id=request_id, access_log=self.access_log)  # fmt: skip
