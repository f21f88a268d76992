"""The PKI protocol handlers of one process, built once from the loaded CA."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlmodel import Session

from api.bootstrap import Runtime
from api.metrics import OCSP_ANSWERS, TSA_ANSWERS
from certs.crl import current_crl
from certs.errors import CrlNotPublished, TokenUnavailable
from certs.keys import SigningKey
from certs.ocsp import OcspResponder, error_response
from certs.revocation import KeptConnectionRevocationSource
from certs.tsa import TimeStampAuthority, rejection
from identity.audit import record_ca_key_use

__all__ = [
    "CRL_ISSUERS",
    "PKI_ANSWERS",
    "PkiServices",
    "build_pki_services",
    "crl_for",
    "crl_issuers",
    "declared_length",
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
        answer = pki.ocsp.respond(request_der, pki.ocsp_source, datetime.now(UTC))
    except TokenUnavailable:  # RFC 6960 2.3: the responder cannot answer now
        logger.warning("OCSP: the key token is unavailable")
        answer = error_response("try_later")
    except Exception:
        logger.exception("OCSP responder failure")
        answer = error_response("internal_error")
    _counted(OCSP_ANSWERS, _ocsp_status(answer)).inc()
    return answer


_OCSP_STATUS = {0: "successful", 1: "malformed_request", 2: "internal_error", 3: "try_later",
                5: "sig_required", 6: "unauthorized"}  # fmt: skip
_PKI_STATUS = {0: "granted", 1: "granted_with_mods", 2: "rejection", 3: "waiting",
               4: "revocation_warning", 5: "revocation_notification"}  # fmt: skip


_COUNTERS: dict[tuple[int, str], Counter] = {}


def _counted(metric: Counter, status: str) -> Counter:
    """The metric's counter for ``status`` (prometheus-client's labels() takes a lock: once)."""
    key = (id(metric), status)
    counter = _COUNTERS.get(key)
    if counter is None:
        counter = _COUNTERS[key] = metric.labels(status)
    return counter


def _header_end(der: bytes, at: int) -> int:
    """Where the content of the DER element at ``at`` starts."""
    first = der[at + 1]
    return at + 2 + (first & 0x7F if first & 0x80 else 0)


def _peek_status(der: bytes, depth: int) -> int | None:
    """The small number that opens a PKI answer: OCSPResponse's responseStatus (ENUMERATED,
    depth 1), TimeStampResp's PKIStatus (INTEGER inside PKIStatusInfo, depth 2). Read from
    the bytes, without parsing the answer: the fast path counts every answer."""
    try:
        at = 0
        for _ in range(depth):
            if der[at] != 0x30:
                return None
            at = _header_end(der, at)
        return der[at + 2] if der[at] in (0x02, 0x0A) and der[at + 1] == 1 else None
    except IndexError:
        return None


def _ocsp_status(answer: bytes) -> str:
    status = _peek_status(answer, 1)
    return _OCSP_STATUS.get(status, "unreadable") if status is not None else "unreadable"


def _tsa_status(answer: bytes) -> str:
    status = _peek_status(answer, 2)
    return _PKI_STATUS.get(status, "unreadable") if status is not None else "unreadable"


def tsa_answer(pki: PkiServices, request_der: bytes) -> bytes:
    """The TimeStampResp: a token, a rejection of the request, or ``systemFailure``."""
    try:
        answer = pki.tsa.respond(request_der, datetime.now(UTC))
    except Exception:
        logger.exception("time-stamping failure")
        answer = rejection("system_failure", "the time-stamping unit failed; try again")
    _counted(TSA_ANSWERS, _tsa_status(answer)).inc()
    return answer


def crl_issuers(runtime: Runtime) -> tuple[str, ...]:
    """The issuers whose CRLs we publish: not a parent authority's root."""
    return CRL_ISSUERS if runtime.authority.root_is_ours else ("issuing",)


def crl_for(runtime: Runtime, session: Session, issuer: str, now: datetime) -> bytes:
    """The CRL to serve for ``issuer`` (``issuing`` or ``root``), published anew when due.

    A new CRL is a use of a CA key: it is audited in the same savepoint as the CRL itself."""
    authority = runtime.authority
    if issuer == "root" and not authority.root_is_ours:
        raise CrlNotPublished(
            "the root CA is the parent authority's: its CRL is published by that authority"
        )

    def open_key() -> SigningKey:
        key = authority.root_key() if issuer == "root" else authority.issuing_key
        record_ca_key_use(session, at=now, actor="system:crl", key_id=key.key_id,
                          purpose="crl", target=f"{issuer}-crl:refresh")  # fmt: skip
        return key

    return current_crl(
        session,
        issuer=issuer,
        issuer_certificate=authority.root if issuer == "root" else authority.issuing,
        open_issuer_key=open_key,
        now=now,
        policy=runtime.settings.crl_policy,
    )


PKI_ANSWERS: dict[str, tuple[Callable[[PkiServices, bytes], bytes], bytes]] = {
    "/pki/ocsp": (ocsp_answer, b"application/ocsp-response"),
    "/pki/tsa": (tsa_answer, b"application/timestamp-reply"),
}
"""The PKI POSTs answered below the router (:mod:`api.pki_fast_path`, :mod:`api.pki_protocol`):
the answer function and the response's media type, by path."""


def declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """A request's ``Content-Length`` when it is plain digits; None when absent (chunked)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
