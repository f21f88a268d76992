"""The HTTP servers ``kyso serve`` can run the app under: uvicorn (the default, with uvloop and
httptools) or granian (a Rust HTTP server for ASGI apps). Both serve the same app factory,
answer the PKI fast path below FastAPI, and trust ``X-Forwarded-*`` only from 127.0.0.1 (a
proxy on the same machine). ``bench/`` compares them (``--engine``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

ENGINES = ("uvicorn", "granian")


@dataclass(frozen=True)
class Listen:
    """What ``kyso serve`` was asked for, whichever engine serves it."""

    host: str
    port: int
    workers: int
    access_log: bool
    keep_alive: int


def run(engine: str, listen: Listen) -> None:
    """Serve ``api.app:create_app`` until stopped."""
    if engine == "granian":
        _run_granian(listen)
    else:
        _run_uvicorn(listen)


def _run_uvicorn(listen: Listen) -> None:
    import uvicorn

    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=listen.host,
        port=listen.port,
        workers=listen.workers,
        proxy_headers=True,
        log_level="info",
        access_log=listen.access_log,
        timeout_keep_alive=listen.keep_alive,
    )


def _run_granian(listen: Listen) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    Granian(
        "api.engines:create_app_behind_local_proxy",
        factory=True,
        address=listen.host,
        port=listen.port,
        interface=Interfaces.ASGI,
        workers=listen.workers,
        log_access=listen.access_log,
        http1_settings=HTTP1Settings(keep_alive=True, header_read_timeout=30_000),
        respawn_failed_workers=True,
        log_dictconfig=_granian_logging(),
    ).serve()


def _granian_logging() -> dict[str, Any]:
    """granian's logging, with kyso's first line (logged as uvicorn's, which uvicorn shows) and
    kyso's own loggers on the same console."""
    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    ours = {"handlers": ["console"], "level": "INFO", "propagate": False}
    loggers: dict[str, Any] = config["loggers"]
    loggers.update({"uvicorn.error": ours, "kyso": ours})
    return config


def create_app_behind_local_proxy() -> Any:
    """The app, reading the client's address from ``X-Forwarded-For`` when 127.0.0.1 sent it,
    as uvicorn's ``proxy_headers=True`` does (granian has no such setting)."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from api.app import create_app

    app: Any = create_app()
    return ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
