"""An ASGI app that reads a request's body and answers fixed bytes, doing nothing else: what
uvicorn alone costs (the ceiling of anything it serves). Set ``KYSO_BENCH_ANSWER_FILE`` to send
a file back (1 MiB pieces, as kyso sends signed PDFs), or ``KYSO_BENCH_ANSWER_BYTES`` for that
many zero bytes; ``KYSO_BENCH_ANSWER_TYPE`` is the Content-Type."""

from __future__ import annotations

import os
from typing import Any

FILE = os.environ.get("KYSO_BENCH_ANSWER_FILE")
ZEROS = bytes(int(os.environ.get("KYSO_BENCH_ANSWER_BYTES", "0")))
KIND = os.environ.get("KYSO_BENCH_ANSWER_TYPE", "application/octet-stream").encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    size = os.path.getsize(FILE) if FILE else len(ZEROS)
    headers = [(b"content-type", KIND), (b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if FILE is None:
        await send({"type": "http.response.body", "body": ZEROS})
        return
    with open(FILE, "rb") as answer:
        while piece := answer.read(1 << 20):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
