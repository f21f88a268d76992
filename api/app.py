"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlmodel import Session

from api.bootstrap import Runtime, open_runtime
from api.errors import install_error_handlers
from api.pki_services import build_pki_services
from api.routes import health, pki
from api.settings import Settings
from certs.crl import current_crl

__all__ = ["create_app"]

logger = logging.getLogger("kyso.api")

_CRL_CHECK_SECONDS = 600


def refresh_crls(runtime: Runtime) -> None:
    """Publish a new CRL for each issuer whose current one is due for refresh."""
    authority = runtime.authority
    now = datetime.now(UTC)
    with Session(runtime.engine) as session, session.begin():
        current_crl(
            session,
            issuer="issuing",
            issuer_certificate=authority.issuing,
            open_issuer_key=lambda: authority.issuing_key,
            now=now,
            policy=runtime.settings.crl_policy,
        )
        current_crl(
            session,
            issuer="root",
            issuer_certificate=authority.root,
            open_issuer_key=authority.root_key,
            now=now,
            policy=runtime.settings.crl_policy,
        )


async def _crl_refresher(runtime: Runtime) -> None:
    while True:
        try:
            await asyncio.to_thread(refresh_crls, runtime)
        except Exception:
            logger.exception("CRL refresh failed; retrying in %s s", _CRL_CHECK_SECONDS)
        await asyncio.sleep(_CRL_CHECK_SECONDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: initialise what is missing, load the CA, mount every route."""
    settings = settings or Settings()
    runtime = open_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_crl_refresher(runtime))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            runtime.engine.dispose()

    app = FastAPI(
        title="kyso",
        summary="Per-transaction digital signatures and e-identity",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.pki = build_pki_services(runtime)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(pki.router)
    return app
