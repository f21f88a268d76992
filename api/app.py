"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable

from cryptography.hazmat.primitives import hashes
from fastapi import FastAPI

from api.bootstrap import open_runtime
from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.metrics import count_commits
from api.pki_fast_path import PkiFastPath
from api.pki_protocol import PkiAnswering
from api.production import refuse_unsafe_production
from api.request_log import ACCESS_LOGGER, RequestLog
from api.routes import (
    admin,
    auth,
    billing,
    csc,
    csc_oauth,
    health,
    me,
    metrics,
    oidc,
    pki,
    proofing,
    signature_body,
    signatures,
    signing_requests,
    verifications,
    wallet,
)
from api.routes.docs import install_docs
from api.settings import Settings
from api.usecases.housekeeping import JOBS
from api.usecases.services import Services, build_services
from api.verification_cli import quiet_pyhanko
from api.web import install_web, purge_drafts

__all__ = ["create_app"]

logger = logging.getLogger("kyso.api")

_HOUSEKEEPING_SECONDS = 600


async def _housekeeping(services: Services, jobs: tuple[Callable[[Services], int], ...]) -> None:
    """Every few minutes: fresh CRLs before nextUpdate, the retention purge, monthly fees, the
    purge of what has expired."""
    while True:
        for job in jobs:
            try:
                await asyncio.to_thread(job, services)
            except Exception:
                logger.exception("%s failed; retrying in %s s", job.__name__, _HOUSEKEEPING_SECONDS)
        await asyncio.sleep(_HOUSEKEEPING_SECONDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: initialise what is missing, load the CA, mount every route."""
    settings = settings or Settings()
    refuse_unsafe_production(settings)
    runtime = open_runtime(settings)
    root = runtime.authority.root.fingerprint(hashes.SHA256()).hex(":").upper()
    logging.getLogger("uvicorn.error").info(
        "kyso: data directory %s, database %s, public URL %s, root CA SHA-256 %s",
        settings.data_dir.resolve(),
        runtime.engine.url.render_as_string(hide_password=True),
        runtime.urls.base,
        root,
    )

    services = build_services(runtime, eager=True)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_housekeeping(services, (*JOBS, purge_drafts)))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            services.close()
            runtime.engine.dispose()

    app = FastAPI(
        title="kyso",
        summary="Per-transaction digital signatures and e-identity",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # install_docs: Swagger UI and ReDoc from a package, not a CDN
        redoc_url=None,
        # kyso's metrics are Prometheus's (``/metrics``); FastAPI's OpenTelemetry hook would
        # look up its global providers on every request (about 13 µs of an OCSP answer's 110)
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    quiet_pyhanko()
    install_error_handlers(app)
    for module in (
        csc,
        csc_oauth,
        health,
        metrics,
        oidc,
        pki,
        auth,
        me,
        proofing,
        admin,
        signatures,
        signature_body,
        signing_requests,
        verifications,
        wallet,
        billing,
    ):
        app.include_router(module.router)
    install_docs(app)
    install_web(app)
    settings_ = runtime.settings
    app.add_middleware(
        BodySizeLimit,
        limits={
            "/v1/signatures": settings_.max_upload_mb * 1024 * 1024,
            "/v1/verifications": settings_.max_verify_mb * 1024 * 1024,
            "/sign": settings_.max_upload_mb * 1024 * 1024,  # the web pages' uploads
            "/verify": settings_.max_verify_mb * 1024 * 1024,  # all the files of one upload
            "/pki/": settings_.max_pki_request_bytes,
        },
        default=settings_.max_api_request_bytes,
    )
    app.add_middleware(
        PkiFastPath,
        pki=services.pki,
        limit=settings_.max_pki_request_bytes,
    )
    access_log = open_access_log(settings_.access_log)
    app.add_middleware(RequestLog, access_log=access_log)
    app.state.pki_answering = PkiAnswering(
        pki=services.pki, limit=settings_.max_pki_request_bytes, access_log=access_log
    )
    count_commits()
    return app


def open_access_log(where: str) -> bool:
    """Send the access log's lines to ``where`` (``-``: standard output; a file, appended);
    ``False`` when there is none."""
    if not where:
        return False
    handler: logging.Handler = (
        logging.StreamHandler(sys.stdout) if where == "-" else logging.FileHandler(where)
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    for old in ACCESS_LOGGER.handlers:
        ACCESS_LOGGER.removeHandler(old)
        old.close()
    ACCESS_LOGGER.addHandler(handler)
    ACCESS_LOGGER.setLevel(logging.INFO)
    ACCESS_LOGGER.propagate = False
    return True
