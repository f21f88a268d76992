"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from fastapi import FastAPI

from api.bootstrap import Runtime, open_runtime
from api.database import unit_of_work
from api.errors import install_error_handlers
from api.identity_services import build_identity_services
from api.limits import BodySizeLimit
from api.pki_fast_path import PkiFastPath
from api.pki_services import CRL_ISSUERS, build_pki_services, crl_for
from api.routes import (
    admin,
    auth,
    billing,
    csc,
    health,
    me,
    oidc,
    pki,
    proofing,
    signature_body,
    signatures,
    verifications,
    wallet,
)
from api.settings import Settings
from api.signing_services import build_signing_services
from api.verification_cli import quiet_pyhanko
from api.verification_services import VerificationServices
from api.web import install_web
from api.web.drafts import DraftStore
from billing.charges import charge_fee_of, subscribed_accounts
from identity.oidc import purge_expired as purge_oidc_rows
from identity.web_sessions import WebSessions
from signing.records import purge_expired, purge_kept_reports
from signing.storage import DocumentStore

__all__ = ["create_app"]

logger = logging.getLogger("kyso.api")

_CRL_CHECK_SECONDS = 600


def refresh_crls(runtime: Runtime) -> None:
    """Publish a new CRL for each issuer whose current one is due for refresh."""
    now = datetime.now(UTC)
    with unit_of_work(runtime.engine) as session:
        for issuer in CRL_ISSUERS:
            crl_for(runtime, session, issuer, now)


def purge_documents(runtime: Runtime) -> int:
    """Delete signed documents past their retention period (the records stay)."""
    with unit_of_work(runtime.engine) as session:
        return purge_expired(session, DocumentStore(runtime.settings.documents_dir),
                             datetime.now(UTC))  # fmt: skip


def charge_fees(runtime: Runtime) -> int:
    """The month's fee of every subscription not charged yet, one account per transaction
    (the first charge of a month writes it too; this covers the months an organisation signs
    nothing)."""
    now = datetime.now(UTC)
    with unit_of_work(runtime.engine) as session:
        accounts = subscribed_accounts(session, now)
    charged = 0
    for account_id in accounts:
        with unit_of_work(runtime.engine) as session:
            charged += charge_fee_of(session, account_id, now)
    return charged


def purge_oidc(runtime: Runtime) -> int:
    """Expired OpenID Connect requests, codes and tokens."""
    with unit_of_work(runtime.engine) as session:
        return purge_oidc_rows(session, datetime.now(UTC))


def purge_web(runtime: Runtime) -> int:
    """Ended browser sessions, verification reports past their week, drafts left unsigned."""
    now = datetime.now(UTC)
    with unit_of_work(runtime.engine) as session:
        removed = WebSessions.purge(session, now) + purge_kept_reports(session, now)
    settings = runtime.settings
    return removed + DraftStore(settings.data_dir / "drafts", max_pages=settings.max_pages).purge()


async def _housekeeping(runtime: Runtime) -> None:
    """Every few minutes: fresh CRLs before nextUpdate, the retention purge, monthly fees."""
    while True:
        for job in (refresh_crls, purge_documents, charge_fees, purge_oidc, purge_web):
            try:
                await asyncio.to_thread(job, runtime)
            except Exception:
                logger.exception("%s failed; retrying in %s s", job.__name__, _CRL_CHECK_SECONDS)
        await asyncio.sleep(_CRL_CHECK_SECONDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: initialise what is missing, load the CA, mount every route."""
    settings = settings or Settings()
    runtime = open_runtime(settings)
    root = runtime.authority.root.fingerprint(hashes.SHA256()).hex(":").upper()
    logging.getLogger("uvicorn.error").info(
        "kyso: data directory %s, database %s, public URL %s, root CA SHA-256 %s",
        settings.data_dir.resolve(),
        runtime.engine.url.render_as_string(hide_password=True),
        runtime.urls.base,
        root,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_housekeeping(runtime))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            app.state.pki.ocsp_source.close()
            runtime.engine.dispose()

    app = FastAPI(
        title="kyso",
        summary="Per-transaction digital signatures and e-identity",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.pki = build_pki_services(runtime)
    app.state.identity = build_identity_services(runtime)
    app.state.signing = build_signing_services(runtime, app.state.pki)
    app.state.verification = VerificationServices(runtime, app.state.pki)
    app.state.oidc = oidc.build_provider(runtime, app.state.identity)
    quiet_pyhanko()
    install_error_handlers(app)
    for module in (
        csc,
        health,
        oidc,
        pki,
        auth,
        me,
        proofing,
        admin,
        signatures,
        signature_body,
        verifications,
        wallet,
        billing,
    ):
        app.include_router(module.router)
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
        pki=app.state.pki,
        limit=settings_.max_pki_request_bytes,
    )
    return app
