"""The PKI protocol handlers of one process, built once from the loaded CA."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from api.bootstrap import Runtime
from certs.crl import current_crl
from certs.ocsp import OcspResponder, error_response
from certs.revocation import KeptConnectionRevocationSource
from certs.tsa import TimeStampAuthority, rejection

__all__ = [
    "CRL_ISSUERS",
    "PkiServices",
    "build_pki_services",
    "crl_for",
    "ocsp_answer",
    "tsa_answer",
]

logger = logging.getLogger("kyso.pki")

CRL_ISSUERS = ("issuing", "root")


@dataclass(frozen=True)
class PkiServices:
    ocsp: OcspResponder
    ocsp_source: KeptConnectionRevocationSource
    tsa: TimeStampAuthority


def build_pki_services(runtime: Runtime) -> PkiServices:
    authority = runtime.authority
    return PkiServices(
        ocsp=OcspResponder(
            issuer=authority.issuing,
            responder=authority.ocsp,
            key=authority.ocsp_key,
            validity=timedelta(minutes=runtime.settings.ocsp_validity_minutes),
        ),
        ocsp_source=KeptConnectionRevocationSource(runtime.engine),
        tsa=TimeStampAuthority(
            certificate=authority.tsa, chain=[authority.issuing], key=authority.tsa_key
        ),
    )


def ocsp_answer(pki: PkiServices, request_der: bytes) -> bytes:
    """The OCSP response, in OCSP's own terms even when something breaks (``internalError``)."""
    try:
        return pki.ocsp.respond(request_der, pki.ocsp_source, datetime.now(UTC))
    except Exception:
        logger.exception("OCSP responder failure")
        return error_response("internal_error")


def tsa_answer(pki: PkiServices, request_der: bytes) -> bytes:
    """The TimeStampResp: a token, a rejection of the request, or ``systemFailure``."""
    try:
        return pki.tsa.respond(request_der, datetime.now(UTC))
    except Exception:
        logger.exception("time-stamping failure")
        return rejection("system_failure", "the time-stamping unit failed; try again")


def crl_for(runtime: Runtime, session: Session, issuer: str, now: datetime) -> bytes:
    """The CRL to serve for ``issuer`` (``issuing`` or ``root``), published anew when due."""
    authority = runtime.authority
    if issuer == "root":
        return current_crl(
            session,
            issuer="root",
            issuer_certificate=authority.root,
            open_issuer_key=authority.root_key,
            now=now,
            policy=runtime.settings.crl_policy,
        )
    return current_crl(
        session,
        issuer="issuing",
        issuer_certificate=authority.issuing,
        open_issuer_key=lambda: authority.issuing_key,
        now=now,
        policy=runtime.settings.crl_policy,
    )
