"""The HTTP servers ``kyso serve`` can run the app under: uvicorn (the default, with uvloop and
httptools) or granian (a Rust HTTP server for ASGI apps). Both serve the same app factory,
answer the PKI fast path below FastAPI, and trust ``X-Forwarded-*`` only from 127.0.0.1 (a
proxy on the same machine). ``bench/`` compares them (``--engine``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.log_config import LogLevel, log_config
from api.pki_protocol import PROTOCOL as BOUNDED_PKI_ANSWERING
from api.settings import Settings

ENGINES = ("uvicorn", "granian")


@dataclass(frozen=True)
class Listen:
    """What ``kyso serve`` was asked for, whichever engine serves it."""

    host: str
    port: int
    workers: int
    keep_alive: int
    log_level: LogLevel = "info"


def run(engine: str, listen: Listen, settings: Settings) -> None:
    """Serve ``api.app:create_app`` until stopped."""
    if engine == "granian":
        _run_granian(listen, settings)
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
        log_level=listen.log_level,
        log_config=log_config(listen.log_level),
        http=BOUNDED_PKI_ANSWERING,
        access_log=False,  # kyso's own JSON lines (api/request_log.py) instead
        timeout_keep_alive=listen.keep_alive,
        # a worker starting on a busy machine (loading the CA, pyHanko) may take longer than
        # uvicorn's 5 s to answer its supervisor, which would kill and restart it for ever
        timeout_worker_healthcheck=60,
    )


def _run_granian(listen: Listen, settings: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    Granian(
        "api.engines:create_app_behind_local_proxy",
        factory=True,
        address=listen.host,
        port=listen.port,
        interface=Interfaces.ASGI,
        workers=listen.workers,
        log_access=False,  # kyso's own JSON lines (api/request_log.py) instead
        http1_settings=HTTP1Settings(
            keep_alive=True, header_read_timeout=settings.header_timeout_seconds * 1000
        ),
        respawn_failed_workers=True,
        log_level=LogLevels(listen.log_level),
        log_dictconfig=_granian_logging(listen.log_level),
    ).serve()


def _granian_logging(level: LogLevel) -> dict[str, Any]:
    """kyso's logging (:func:`api.log_config.log_config`) with granian's own loggers on it."""
    config = log_config(level)
    loggers: dict[str, Any] = config["loggers"]
    loggers["_granian"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    loggers["granian.access"] = {"handlers": ["access"], "level": "INFO", "propagate": False}
    return config


def create_app_behind_local_proxy() -> Any:
    """The app, reading the client's address from ``X-Forwarded-For`` when 127.0.0.1 sent it,
    as uvicorn's ``proxy_headers=True`` does (granian has no such setting)."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from api.app import create_app

    app: Any = create_app()
    return ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
