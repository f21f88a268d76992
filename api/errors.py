"""Domain errors to HTTP problem+json (RFC 9457), in one table."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from billing import errors as billing_errors
from certs import errors as certs_errors
from identity import errors as identity_errors
from signing import errors as signing_errors

__all__ = [
    "DOMAIN_ERRORS",
    "ApiError",
    "ClientGone",
    "PayloadTooLarge",
    "install_error_handlers",
    "lookup_status",
    "problem",
]

logger = logging.getLogger("kyso.api")

PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An error of the HTTP layer itself (not of a domain)."""

    code = "api.error"
    status = 400
    title = "Request refused"
    oauth_error: str | None = None
    """The RFC 6749 error name, for errors of the token endpoint."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PayloadTooLarge(ApiError):
    code = "request.too_large"
    status = 413
    title = "Request too large"


class ClientGone(ApiError):
    """The client disconnected mid-request: nothing to answer, nothing to log as a fault."""

    code = "request.client_disconnected"
    status = 400
    title = "Client disconnected"


DomainError = (
    certs_errors.CertsError
    | identity_errors.IdentityError
    | signing_errors.SigningError
    | billing_errors.BillingError
)
DOMAIN_ERRORS = (
    certs_errors.CertsError,
    identity_errors.IdentityError,
    signing_errors.SigningError,
    billing_errors.BillingError,
    ApiError,
)
"""Every refusal a domain (or the HTTP layer) raises with a stable code."""

# Domain error class -> (HTTP status, title). The most specific class listed wins.
STATUS_TABLE: dict[type[Exception], tuple[int, str]] = {
    identity_errors.InvalidField: (422, "Invalid fields"),
    identity_errors.AlreadyExists: (409, "Already exists"),
    identity_errors.NotFound: (404, "Not found"),
    identity_errors.AuthenticationFailed: (400, "Authentication failed"),
    identity_errors.OtpRequired: (400, "One-time code required"),
    identity_errors.AccountLocked: (429, "Account temporarily locked"),
    identity_errors.Throttled: (429, "Too many attempts"),
    identity_errors.InvalidToken: (401, "Not authenticated"),
    identity_errors.AccessDenied: (403, "Forbidden"),
    identity_errors.LevelTooLow: (403, "Identity not proofed"),
    identity_errors.CredentialNotFound: (404, "Signing credential not found"),
    identity_errors.CredentialUnusable: (409, "Signing credential unusable"),
    identity_errors.PinAttemptsBusy: (429, "Signing credential busy"),
    identity_errors.CredentialLocked: (423, "Signing credential locked"),
    identity_errors.WrongPin: (403, "Wrong PIN"),
    identity_errors.WrongPuk: (403, "Wrong PUK"),
    identity_errors.AuthorisationInvalid: (403, "Signature authorisation invalid"),
    identity_errors.OidcError: (400, "OpenID Connect request refused"),
    identity_errors.IdentityError: (400, "Request refused"),
    signing_errors.NotATrustAnchor: (422, "Not a trust anchor"),
    signing_errors.TrustAnchorNotFound: (404, "Trust anchor not found"),
    billing_errors.InsufficientFunds: (402, "Payment required"),
    billing_errors.InvalidBillingInput: (422, "Invalid billing input"),
    billing_errors.AccountNotFound: (404, "Billing account not found"),
    billing_errors.PlanNotFound: (404, "Price plan not found"),
    billing_errors.InvoiceNotFound: (404, "Invoice not found"),
    billing_errors.ReferenceConflict: (409, "Payment reference already used"),
    billing_errors.PeriodNotOver: (409, "Billing period not over"),
    billing_errors.PeriodClosed: (409, "Billing period closed"),
    billing_errors.CreditExceedsInvoice: (422, "Credit exceeds invoice"),
    billing_errors.IdempotencyConflict: (422, "Idempotency key reused"),
    signing_errors.NotAPdf: (415, "Not a PDF document"),
    signing_errors.UnparsablePdf: (422, "Unreadable PDF"),
    signing_errors.EncryptedPdf: (422, "Encrypted PDF"),
    signing_errors.RestrictedPdf: (422, "Signing not permitted by the document"),
    signing_errors.DynamicXfa: (422, "Dynamic XFA form"),
    signing_errors.EarlierSignatureFails: (409, "An earlier signature fails"),
    signing_errors.NoSuchPage: (422, "No such page"),
    signing_errors.HostilePdf: (422, "Refused PDF"),
    signing_errors.TooManyPages: (413, "Too many pages"),
    signing_errors.InvalidPlacement: (422, "Invalid stamp placement"),
    signing_errors.FieldUnusable: (422, "Signature field unusable"),
    signing_errors.InvalidOption: (422, "Invalid signing option"),
    signing_errors.IdempotencyConflict: (422, "Idempotency-Key reused"),
    signing_errors.TimestampUnavailable: (503, "Time-stamping unavailable"),
    signing_errors.StampFontMissing: (503, "Stamp font missing"),
    signing_errors.SignatureNotFound: (404, "Signature not found"),
    signing_errors.DocumentGone: (410, "Signed document deleted"),
    signing_errors.SigningError: (422, "Signing refused"),
    billing_errors.BillingError: (400, "Billing refused"),
    certs_errors.CertificateNotFound: (404, "Certificate not found"),
    certs_errors.AlreadyRevoked: (409, "Certificate already revoked"),
    certs_errors.UnknownRevocationReason: (422, "Unknown revocation reason"),
    certs_errors.InvalidSerial: (422, "Invalid serial number"),
    certs_errors.InvalidCsr: (422, "Invalid certificate signing request"),
    certs_errors.InvalidSubject: (422, "Invalid certificate subject"),
    certs_errors.TokenUnavailable: (503, "Key token unavailable"),
    certs_errors.InvalidChain: (422, "Invalid certificate chain"),
    certs_errors.MasterKeyError: (500, "Key store unavailable"),
    certs_errors.KeyStoreError: (500, "Key store unavailable"),
    certs_errors.CertsError: (500, "Certificate authority error"),
}

# OAuth 2.0 error names (RFC 6749 5.2, RFC 6750 3.1) given beside the problem code.
OAUTH_ERRORS: dict[type[Exception], str] = {
    identity_errors.AuthenticationFailed: "invalid_grant",
    identity_errors.OtpRequired: "invalid_grant",
    identity_errors.InvalidToken: "invalid_token",
}

# 5xx details may name files or keys: people see only the title. These 5xx are safe to explain.
_HIDE_DETAIL_FROM = 500
_EXPLAINED_5XX = (
    signing_errors.TimestampUnavailable,
    signing_errors.StampFontMissing,
    certs_errors.TokenUnavailable,
)


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


def lookup_status(exc: Exception) -> tuple[int, str]:
    """The HTTP status and title of an error (500 for one nobody expected)."""
    if isinstance(exc, ApiError):
        return exc.status, exc.title
    for cls in type(exc).__mro__:
        if cls in STATUS_TABLE:
            return STATUS_TABLE[cls]
    return 500, "Internal error"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        status, title = lookup_status(exc)
        if status >= _HIDE_DETAIL_FROM and not isinstance(exc, _EXPLAINED_5XX):
            logger.error("%s: %s", exc.code, exc.detail)
            return problem(status, exc.code, title)
        fields: dict[str, Any] = {
            k: v for k, v in exc.fields.items() if isinstance(v, str | int | bool)
        }
        if isinstance(exc, identity_errors.InvalidField):
            fields["errors"] = [{"field": f, "message": m} for f, m in exc.errors.items()]
        for cls in type(exc).__mro__:
            if cls in OAUTH_ERRORS:
                fields["error"] = OAUTH_ERRORS[cls]
                break
        response = problem(status, exc.code, title, exc.detail, **fields)
        if isinstance(exc, identity_errors.Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, certs_errors.TokenUnavailable):
            response.headers["Retry-After"] = "1"
        if isinstance(exc, identity_errors.InvalidToken):
            response.headers["WWW-Authenticate"] = (
                'Bearer realm="kyso"'
                if exc.fields.get("missing")
                else 'Bearer realm="kyso", error="invalid_token"'
            )
        return response

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        extra = {"error": exc.oauth_error} if exc.oauth_error else {}
        return problem(exc.status, exc.code, exc.title, exc.detail, **extra)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
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

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "http.not_found", 405: "http.method_not_allowed"}.get(
            exc.status_code, f"http.{exc.status_code}"
        )
        return problem(exc.status_code, code, str(exc.detail))

    async def integrity_error(_request: Request, exc: Exception) -> JSONResponse:
        logger.warning("write refused by a database constraint: %s", exc)
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
        response = problem(500, "internal", "Internal error")
        # the server drops the connection after an unhandled error: say so, so that a
        # keep-alive client does not send its next request on it
        response.headers["Connection"] = "close"
        return response

    app.add_exception_handler(certs_errors.CertsError, domain_error)
    app.add_exception_handler(identity_errors.IdentityError, domain_error)
    app.add_exception_handler(signing_errors.SigningError, domain_error)
    app.add_exception_handler(billing_errors.BillingError, domain_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
