"""The one error table: every :class:`~kernel.errors.KysoError` to its HTTP answer.

A refusal has one row: its HTTP status and title (problem+json, RFC 9457), and where a
protocol has its own error format, its name there: CSC's ``{"error", "error_description"}``
(with CSC's status) and OAuth 2.0's ``error`` (RFC 6749 5.2, RFC 6750 3.1). The three formats
are views of the same row, chosen by where the request went: ``/csc/…`` answers in CSC's
format, the OpenID Connect token and userinfo endpoints in OAuth's, everything else in
problem+json (with the OAuth name beside the code when the row has one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.metrics import REFUSALS
from api.production import UnsafeProduction
from billing import errors as billing
from certs import errors as certs
from identity import errors as identity
from kernel.errors import IdempotencyConflict, KysoError, RequestInProgress
from signing import errors as signing

__all__ = [
    "ERRORS",
    "Answer",
    "ApiError",
    "ClientGone",
    "CscInvalidRequest",
    "PayloadTooLarge",
    "UnsupportedGrant",
    "answer_for",
    "csc_view",
    "install_error_handlers",
    "oauth_view",
    "problem",
    "problem_view",
]

logger = logging.getLogger("kyso.api")

PROBLEM_JSON = "application/problem+json"


class ApiError(KysoError):
    """A refusal of the HTTP layer itself (not of a domain)."""

    code = "api.error"


class PayloadTooLarge(ApiError):
    code = "request.too_large"


class ClientGone(ApiError):
    """The client disconnected mid-request: nothing to answer, nothing to log as a fault."""

    code = "request.client_disconnected"


class UnsupportedGrant(ApiError):
    code = "auth.unsupported_grant_type"


class CscInvalidRequest(ApiError):
    """A CSC request the CSC adapter cannot read (a missing or malformed parameter)."""

    code = "csc.invalid_request"


@dataclass(frozen=True)
class Answer:
    """How one kind of refusal is answered."""

    status: int
    title: str
    csc: tuple[int, str] | None = None
    """CSC's HTTP status and ``error`` name; ``None``: those of the nearest base class that has
    them (and ``400 invalid_request`` at the top)."""
    oauth: str | None = None
    """The RFC 6749 error name, given beside the problem code (``None``: not an OAuth one)."""


ERRORS: dict[type[KysoError], Answer] = {
    KysoError: Answer(400, "Request refused"),
    IdempotencyConflict: Answer(422, "Idempotency-Key reused"),
    RequestInProgress: Answer(409, "Request in progress"),
    # the HTTP layer
    ApiError: Answer(400, "Request refused"),
    PayloadTooLarge: Answer(413, "Request too large"),
    ClientGone: Answer(400, "Client disconnected"),
    UnsupportedGrant: Answer(400, "Unsupported grant type", oauth="unsupported_grant_type"),
    CscInvalidRequest: Answer(400, "Invalid CSC request"),
    UnsafeProduction: Answer(500, "Unsafe production settings"),
    # identity
    identity.IdentityError: Answer(400, "Request refused"),
    identity.InvalidField: Answer(422, "Invalid fields"),
    identity.AlreadyExists: Answer(409, "Already exists"),
    identity.NotFound: Answer(404, "Not found"),
    identity.AuthenticationFailed: Answer(
        400, "Authentication failed", csc=(400, "invalid_otp"), oauth="invalid_grant"
    ),
    identity.OtpRequired: Answer(
        400, "One-time code required", csc=(400, "invalid_otp"), oauth="invalid_grant"
    ),
    identity.Throttled: Answer(429, "Too many attempts"),
    identity.AccountLocked: Answer(429, "Account temporarily locked"),
    identity.InvalidToken: Answer(
        401, "Not authenticated", csc=(401, "invalid_token"), oauth="invalid_token"
    ),
    identity.AccessDenied: Answer(403, "Forbidden", csc=(403, "access_denied")),
    identity.LevelTooLow: Answer(403, "Identity not proofed"),
    identity.SigningRequestNotFound: Answer(404, "Signing request not found"),
    identity.SigningRequestClosed: Answer(409, "Signing request closed"),
    identity.CredentialNotFound: Answer(404, "Signing credential not found"),
    identity.CredentialUnusable: Answer(409, "Signing credential unusable"),
    identity.CredentialLocked: Answer(
        423, "Signing credential locked", csc=(423, "credential_locked")
    ),
    identity.PinAttemptsBusy: Answer(429, "Signing credential busy"),
    identity.WrongPin: Answer(403, "Wrong PIN", csc=(400, "invalid_pin")),
    identity.WrongPuk: Answer(403, "Wrong PUK"),
    identity.ResetNeedsOfficer: Answer(403, "PIN reset needs a registration officer"),
    identity.AuthorisationInvalid: Answer(403, "Signature authorisation invalid"),
    identity.OidcError: Answer(400, "OpenID Connect request refused"),
    identity.OidcClientWithoutSecret: Answer(409, "The client has no secret"),
    identity.StepUpRequired: Answer(400, "One-time code required"),
    # signing and verification
    signing.SigningError: Answer(422, "Signing refused"),
    signing.NotAPdf: Answer(415, "Not a PDF document"),
    signing.UnparsablePdf: Answer(422, "Unreadable PDF"),
    signing.EncryptedPdf: Answer(422, "Encrypted PDF"),
    signing.RestrictedPdf: Answer(422, "Signing not permitted by the document"),
    signing.UnsupportedProtection: Answer(422, "Document protection that signing would lose"),
    signing.DynamicXfa: Answer(422, "Dynamic XFA form"),
    signing.EarlierSignatureFails: Answer(409, "An earlier signature fails"),
    signing.NoSuchPage: Answer(422, "No such page"),
    signing.HostilePdf: Answer(422, "Refused PDF"),
    signing.TooManyPages: Answer(413, "Too many pages"),
    signing.InvalidPlacement: Answer(422, "Invalid stamp placement"),
    signing.FieldUnusable: Answer(422, "Signature field unusable"),
    signing.InvalidOption: Answer(422, "Invalid signing option"),
    signing.TimestampUnavailable: Answer(503, "Time-stamping unavailable"),
    signing.StampFontMissing: Answer(503, "Stamp font missing"),
    signing.SignatureNotFound: Answer(404, "Signature not found"),
    signing.AttemptTakenOver: Answer(409, "Signing taken over by a retry"),
    signing.DocumentGone: Answer(410, "Signed document deleted"),
    signing.NotATrustAnchor: Answer(422, "Not a trust anchor"),
    signing.TrustAnchorNotFound: Answer(404, "Trust anchor not found"),
    # billing
    billing.BillingError: Answer(400, "Billing refused"),
    billing.InsufficientFunds: Answer(402, "Payment required", csc=(402, "payment_required")),
    billing.InvalidBillingInput: Answer(422, "Invalid billing input"),
    billing.AccountNotFound: Answer(404, "Billing account not found"),
    billing.PlanNotFound: Answer(404, "Price plan not found"),
    billing.InvoiceNotFound: Answer(404, "Invoice not found"),
    billing.ReferenceConflict: Answer(409, "Payment reference already used"),
    billing.PeriodNotOver: Answer(409, "Billing period not over"),
    billing.PeriodClosed: Answer(409, "Billing period closed"),
    billing.CreditExceedsInvoice: Answer(422, "Credit exceeds invoice"),
    billing.ReservationLost: Answer(409, "Held price lapsed"),
    billing.PaymentsDisabled: Answer(409, "No payment provider"),
    billing.OrganisationMoney: Answer(403, "Your organisation's account"),
    # the certificate authority
    certs.CertsError: Answer(500, "Certificate authority error"),
    certs.CertificateNotFound: Answer(404, "Certificate not found"),
    certs.CrlNotPublished: Answer(404, "CRL not published here"),
    certs.AlreadyRevoked: Answer(409, "Certificate already revoked"),
    certs.UnknownRevocationReason: Answer(422, "Unknown revocation reason"),
    certs.InvalidSerial: Answer(422, "Invalid serial number"),
    certs.InvalidCsr: Answer(422, "Invalid certificate signing request"),
    certs.InvalidSubject: Answer(422, "Invalid certificate subject"),
    certs.TokenUnavailable: Answer(503, "Key token unavailable"),
    certs.InvalidChain: Answer(422, "Invalid certificate chain"),
    certs.MasterKeyError: Answer(500, "Key store unavailable"),
    certs.KeyStoreError: Answer(500, "Key store unavailable"),
}
"""Every kind of refusal; the most specific class listed answers for its subclasses."""

OAUTH_STATUS = {"invalid_client": 401, "invalid_token": 401}
"""RFC 6749 5.2 and RFC 6750 3.1: these OAuth errors are 401, the others 400."""

_EXPLAINED_5XX = (
    signing.TimestampUnavailable,
    signing.StampFontMissing,
    certs.TokenUnavailable,
)
"""5xx refusals whose detail is safe to show (others may name files or keys)."""


def answer_for(exc: KysoError) -> Answer:
    """The row of ``exc``'s class, or of its nearest listed base class."""
    for cls in type(exc).__mro__:
        if cls in ERRORS:
            return ERRORS[cls]
    return ERRORS[KysoError]


def _shown_detail(exc: KysoError, status: int) -> str | None:
    if status >= 500 and not isinstance(exc, _EXPLAINED_5XX):
        logger.error("%s: %s", exc.code, exc.detail)
        return None
    return exc.detail


def problem(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response with a stable ``code``."""
    body: dict[str, Any] = {
        "type": f"urn:kyso:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def problem_view(exc: KysoError) -> JSONResponse:
    """RFC 9457: the code, the title, the detail and the error's own fields."""
    answer = answer_for(exc)
    detail = _shown_detail(exc, answer.status)
    if detail is None:
        return problem(answer.status, exc.code, answer.title)
    extra: dict[str, Any] = dict(exc.fields)
    if isinstance(exc, identity.InvalidField):
        extra["errors"] = [{"field": f, "message": m} for f, m in exc.errors.items()]
    if answer.oauth:
        extra["error"] = answer.oauth
    response = problem(answer.status, exc.code, answer.title, detail, **extra)
    _retry_after(exc, response)
    if isinstance(exc, identity.InvalidToken):
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="kyso"' if exc.missing else 'Bearer realm="kyso", error="invalid_token"'
        )
    return response


def _retry_after(exc: KysoError, response: JSONResponse) -> None:
    """When to ask again, for refusals that pass."""
    if isinstance(exc, identity.Throttled | RequestInProgress):
        response.headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, certs.TokenUnavailable):
        response.headers["Retry-After"] = "1"


def csc_error(exc: KysoError) -> tuple[int, str]:
    """CSC's status and ``error`` name for ``exc``."""
    status = answer_for(exc).status
    if status >= 500:
        return status, "server_error"
    for cls in type(exc).__mro__:
        found = ERRORS.get(cls)
        if found is not None and found.csc is not None:
            return found.csc
    return 400, "invalid_request"


def csc_view(exc: KysoError) -> JSONResponse:
    """The CSC API's error format: ``{"error", "error_description"}``."""
    status, error = csc_error(exc)
    description = _shown_detail(exc, answer_for(exc).status) or "internal error"
    response = JSONResponse({"error": error, "error_description": description}, status)
    _retry_after(exc, response)
    return response


def oauth_view(exc: KysoError) -> JSONResponse:
    """OAuth 2.0's error format (RFC 6749 5.2): ``{"error", "error_description"}``, never
    cached; an OpenID Connect error names its own ``error``."""
    if isinstance(exc, identity.OidcError):
        error, status = exc.error, OAUTH_STATUS.get(exc.error, 400)
    else:
        answer = answer_for(exc)
        error = answer.oauth or ("server_error" if answer.status >= 500 else "invalid_request")
        status = OAUTH_STATUS.get(error, answer.status if answer.status >= 500 else 400)
    description = _shown_detail(exc, status) or "internal error"
    response = JSONResponse({"error": error, "error_description": description}, status)
    response.headers["Cache-Control"] = "no-store"
    if error == "invalid_client":
        response.headers["WWW-Authenticate"] = 'Basic realm="kyso"'
    elif error == "invalid_token":
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


_OAUTH_PATHS = ("/oidc/token", "/oidc/userinfo", "/csc/v2/oauth2/token", "/csc/v2/oauth2/revoke")


def view_for(path: str, exc: KysoError) -> JSONResponse:
    """The format the request's protocol speaks."""
    if path in _OAUTH_PATHS:
        return oauth_view(exc)
    if path.startswith("/csc/"):
        return csc_view(exc)
    return problem_view(exc)


def _csc_request_error(status: int, description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description}, status)


def _constraint(exc: Exception) -> str:
    """The constraint a refused write broke, by name: never the values (PostgreSQL's message
    quotes the duplicate key, e.g. a CCCD)."""
    orig = getattr(exc, "orig", None)
    name = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    text = str(orig).splitlines()[0] if orig is not None else ""
    # SQLite names the columns ("UNIQUE constraint failed: users.email"), never the values
    return text if text.startswith(("UNIQUE constraint", "FOREIGN KEY", "CHECK constraint",
                                    "NOT NULL constraint")) else type(orig).__name__  # fmt: skip


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into its protocol's format."""

    async def kyso_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, KysoError)
        REFUSALS.labels(exc.code).inc()
        return view_for(request.url.path, exc)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        REFUSALS.labels("request.invalid").inc()
        if request.url.path.startswith("/csc/"):
            return _csc_request_error(400, "the body must be a JSON object")
        errors = []
        for error in exc.errors():
            location = [str(p) for p in error.get("loc", ())]
            if location and location[0] in ("body", "query", "path", "header"):
                location = location[1:]
            message = str(error.get("msg", ""))
            if error.get("type", "").startswith("date"):
                message += " (write dates as YYYY-MM-DD, e.g. 1990-05-17)"
            errors.append({"field": ".".join(location) or "body", "message": message})
        fields = ", ".join(e["field"] for e in errors)
        return problem(422, "request.invalid", "Invalid request",
                       f"check these fields: {fields}", errors=errors)  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        REFUSALS.labels(f"http.{exc.status_code}").inc()
        if request.url.path.startswith("/csc/"):
            if exc.status_code in (404, 405):
                return _csc_request_error(exc.status_code, "no such CSC method (POST "
                                          "/csc/v1/... or /csc/v2/..., see info)")  # fmt: skip
            if exc.status_code in (400, 422):
                return _csc_request_error(400, "the body must be a JSON object")
        code = {404: "http.not_found", 405: "http.method_not_allowed"}.get(
            exc.status_code, f"http.{exc.status_code}"
        )
        return problem(exc.status_code, code, str(exc.detail))

    async def integrity_error(_request: Request, exc: Exception) -> JSONResponse:
        logger.warning("write refused by a database constraint: %s", _constraint(exc))
        REFUSALS.labels("conflict.concurrent_request").inc()
        return problem(
            409,
            "conflict.concurrent_request",
            "A concurrent request did the same thing first: retry to see its result",
        )

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ClientDisconnect):
            logger.info("client disconnected before the request was read")
            return problem(400, ClientGone.code, "Client disconnected")
        logger.exception("unhandled error", exc_info=exc)
        REFUSALS.labels("internal").inc()
        response = problem(500, "internal", "Internal error")
        # the server drops the connection after an unhandled error: say so, so that a
        # keep-alive client does not send its next request on it
        response.headers["Connection"] = "close"
        return response

    app.add_exception_handler(KysoError, kyso_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
