"""Errors of identity, each with a stable machine-readable code and typed fields."""

from __future__ import annotations

from kernel.errors import KysoError

__all__ = [
    "AccessDenied",
    "AccountLocked",
    "AlreadyExists",
    "AuthenticationFailed",
    "AuthorisationInvalid",
    "CredentialLocked",
    "CredentialNotFound",
    "CredentialUnusable",
    "IdentityError",
    "InvalidField",
    "InvalidToken",
    "LevelTooLow",
    "NotFound",
    "OidcClientWithoutSecret",
    "OidcError",
    "OidcReplay",
    "OtpRequired",
    "PinAttemptsBusy",
    "ResetNeedsOfficer",
    "SigningRequestClosed",
    "SigningRequestNotFound",
    "StepUpRequired",
    "Throttled",
    "WrongPin",
    "WrongPuk",
]


class IdentityError(KysoError):
    """Base of every error raised by ``identity``."""

    code = "identity.error"


class _AboutCredential(IdentityError):
    """An error about one signing credential, which it names."""

    FIELDS = ("credential_id",)

    def __init__(self, detail: str, *, credential_id: str | None = None) -> None:
        super().__init__(detail)
        self.credential_id = credential_id


class InvalidField(IdentityError):
    """One or more fields are invalid; ``errors`` maps field names to messages."""

    code = "identity.invalid_field"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class AlreadyExists(_AboutCredential):
    code = "identity.already_exists"


class NotFound(IdentityError):
    code = "identity.not_found"


class AuthenticationFailed(IdentityError):
    """Wrong e-mail, password or one-time code (which one is not said)."""

    code = "auth.invalid_credentials"
    commits_work = True


class OtpRequired(IdentityError):
    """The account has a second factor: the request must carry a one-time code."""

    code = "auth.otp_required"
    commits_work = True


class Throttled(IdentityError):
    """Too many recent failures: wait ``retry_after`` seconds."""

    code = "auth.throttled"
    FIELDS = ("retry_after",)

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AccountLocked(Throttled):
    code = "auth.locked"


class InvalidToken(IdentityError):
    """A bearer token, refresh token or API key that is unknown, expired or forged;
    ``missing`` when none was sent at all."""

    code = "auth.invalid_token"

    def __init__(self, detail: str, *, missing: bool = False) -> None:
        super().__init__(detail)
        self.missing = missing


class AccessDenied(IdentityError):
    """Authenticated, but this role may not do this."""

    code = "auth.forbidden"


class LevelTooLow(IdentityError):
    """The identity is not proofed to the level this needs."""

    code = "identity.level_too_low"


class CredentialNotFound(IdentityError):
    code = "credential.not_found"


class CredentialUnusable(_AboutCredential):
    """The credential is revoked, superseded or expired."""

    code = "credential.unusable"


class CredentialLocked(_AboutCredential):
    """Too many wrong PINs: unlock with the PUK, or reset with the second factor."""

    code = "credential.locked"
    commits_work = True


class PinAttemptsBusy(CredentialLocked):
    """Every PIN attempt left is in use by requests still checking theirs (not a lock: the
    caller may wait for them to settle and try again)."""

    code = "credential.busy"
    commits_work = False


class WrongPin(IdentityError):
    code = "credential.wrong_pin"
    commits_work = True
    FIELDS = ("attempts_left",)

    def __init__(self, detail: str, *, attempts_left: int) -> None:
        super().__init__(detail)
        self.attempts_left = attempts_left


class WrongPuk(IdentityError):
    code = "credential.wrong_puk"
    commits_work = True


class ResetNeedsOfficer(_AboutCredential):
    """A PIN reset by a citizen without a second factor: it waits for a registration officer
    who sees them in person (the request is kept, so the refusal commits)."""

    code = "credential.reset_needs_officer"
    commits_work = True


class AuthorisationInvalid(IdentityError):
    """A signature authorisation that is unknown, used, expired, or not for these hashes."""

    code = "authorisation.invalid"


class OidcError(IdentityError):
    """An OpenID Connect / OAuth 2.0 protocol error; ``error`` is the RFC 6749 name (the API
    answers it with that name's HTTP status). ``redirect`` tells whether it may be sent back
    to the client's redirect URI (never when the client or its redirect URI is what is
    wrong)."""

    code = "oidc.error"
    FIELDS = ("error",)

    def __init__(self, error: str, detail: str, *, redirect: bool = True) -> None:
        super().__init__(detail)
        self.error, self.redirect = error, redirect


class StepUpRequired(IdentityError):
    """The client asked for more assurance than a password gives: the one-time code too."""

    code = "oidc.step_up_required"


class OidcReplay(OidcError):
    """A code or refresh token presented again: what it gave is revoked, and that is kept."""

    commits_work = True


class SigningRequestNotFound(IdentityError):
    """No signing request with this id for this portal or citizen."""

    code = "signing_request.not_found"


class SigningRequestClosed(IdentityError):
    """The signing request was signed, declined, has expired or failed: nothing more is
    signed or charged for it."""

    code = "signing_request.closed"
    FIELDS = ("state",)

    def __init__(self, detail: str, *, state: str) -> None:
        super().__init__(detail)
        self.state = state


class OidcClientWithoutSecret(IdentityError):
    """A public client, or one that authenticates with its keys, has no secret to rotate."""

    code = "oidc.client_without_secret"
