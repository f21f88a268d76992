"""A local HTTP server that records what reaches it: proof that the server under test did, or
did not, fetch a URL."""

from __future__ import annotations

import contextlib
import http.server
import threading
from dataclasses import dataclass, field


@dataclass
class Recorder:
    """A local HTTP server that counts what reaches it and answers as told."""

    host: str
    body: bytes = b""
    redirect: str | None = None
    requests: list[str] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_address[1]}/root.crl"

    def start(self) -> Recorder:
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.requests.append(self.path)
                if recorder.redirect:
                    self.send_response(302)
                    self.send_header("Location", recorder.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(recorder.body)))
                self.end_headers()
                # the client may stop reading (a size cap): what such a test wants
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(recorder.body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
