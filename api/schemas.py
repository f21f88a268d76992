"""Request and response bodies of the REST API (separate from the tables)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from identity.accounts import cccd_of
from identity.cccd import Gender
from identity.models import Role, User

__all__ = [
    "ApiKeyCreated",
    "ApiKeyOut",
    "AuthorisationCreated",
    "AuthorisationRequest",
    "CertificateIssued",
    "CertificateRequest",
    "CredentialOut",
    "CsrRequest",
    "Me",
    "NewApiKey",
    "NewOrganisation",
    "OrganisationOut",
    "OtpConfirm",
    "OtpConfirmed",
    "OtpEnrolment",
    "PinChange",
    "PinReset",
    "ProofingRequest",
    "PukUnlock",
    "QueueEntry",
    "Registration",
    "RegistrationOut",
    "Rejection",
    "RevocationRequest",
    "TokenResponse",
    "UserSummary",
]


class Registration(BaseModel):
    full_name: str = Field(examples=["Nguyễn Văn An"])
    cccd: str = Field(examples=["001203012345"], description="12-digit citizen ID number")
    date_of_birth: date
    gender: Gender
    email: str
    phone: str = Field(examples=["0912345678"])
    password: str


class RegistrationOut(BaseModel):
    id: str
    email: str
    identity_level: int
    next_step: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2.0 token type, not a secret
    expires_in: int
    refresh_token: str


class Me(BaseModel):
    id: str
    email: str
    role: Role
    full_name: str
    identity_level: int
    cccd: str | None
    date_of_birth: date | None
    gender: str | None
    phone: str | None
    organisation_id: str | None
    otp_enabled: bool
    authenticated_with: list[str]


class OtpEnrolment(BaseModel):
    secret: str
    otpauth_uri: str


class OtpEnrol(BaseModel):
    password: str = Field(description="Your password again: a second factor guards the account")
    otp: str | None = Field(default=None, description="A current code, when one is enrolled")


class OtpDisable(BaseModel):
    password: str = Field(description="Your password again")
    otp: str = Field(description="A current one-time code, or a recovery code")


class OtpConfirm(BaseModel):
    code: str


class OtpConfirmed(BaseModel):
    enabled: bool
    recovery_codes: list[str] = Field(description="Shown once: keep them safe")


class CertificateRequest(BaseModel):
    pin: str = Field(description="6 to 8 digits; never stored")


class CsrRequest(BaseModel):
    csr: str = Field(description="PEM certificate signing request from your token")
    password: str = Field(description="Your password again: a certificate is a sensitive act")
    otp: str | None = None


class CertificateIssued(BaseModel):
    serial: str
    certificate: str
    credential_id: str
    puk: str | None = Field(
        default=None, description="Shown once: unlocks the credential after five wrong PINs"
    )
    notice: str | None = Field(
        default=None, description="What to do with the PUK, in words for the citizen"
    )


class CredentialOut(BaseModel):
    credential_id: str
    serial: str
    status: str
    key_source: str
    key_algorithm: str
    failed_pin_attempts: int
    created_at: datetime
    not_after: datetime
    certificate: str


class PinChange(BaseModel):
    old_pin: str
    new_pin: str


class PukUnlock(BaseModel):
    puk: str
    new_pin: str


class PinReset(BaseModel):
    password: str
    otp: str | None = None
    new_pin: str


class RevocationRequest(BaseModel):
    reason: str = "keyCompromise"
    password: str = Field(description="Your password again (revoking lets a new key be made)")
    otp: str | None = None


class AuthorisationRequest(BaseModel):
    credential_id: str
    pin: str
    otp: str | None = None
    hashes: list[str] | None = Field(
        default=None, description="Hex or base64 digests to be signed (binds the authorisation)"
    )
    count: int | None = Field(default=None, ge=1, le=100)


class AuthorisationCreated(BaseModel):
    sad: str
    expires_in: int
    credential_id: str


class UserSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    full_name: str
    cccd: str | None
    date_of_birth: date | None
    gender: str | None
    phone: str | None
    created_at: datetime
    identity_level: int

    @model_validator(mode="before")
    @classmethod
    def _cccd_held_or_claimed(cls, data: Any) -> Any:
        if isinstance(data, User):
            return {**data.model_dump(), "cccd": cccd_of(data)}
        return data


class QueueEntry(UserSummary):
    competing: list[str] = Field(
        default=[],
        description="Other accounts that claim or hold the same CCCD (a squat, an impostor): "
        "reject the one that is not the person's in front of you",
    )


class Rejection(BaseModel):
    notes: str = Field(default="", max_length=1000)


class PinResetWaiting(BaseModel):
    request_id: str
    credential_id: str
    requested_at: datetime
    citizen: UserSummary


class PinResetApproved(BaseModel):
    request_id: str
    credential_id: str
    approved_at: datetime
    citizen: UserSummary


class ProofingRequest(BaseModel):
    document: str = Field(examples=["CCCD card"])
    method: str = Field(examples=["in_person"])
    notes: str = ""


class NewOrganisation(BaseModel):
    name: str
    kind: str = Field(examples=["agency"])
    tax_code: str | None = Field(default=None, examples=["0312345678"])
    """Printed as the buyer's on its invoices (10 digits, or 13 for a branch)."""
    address: str | None = Field(default=None, max_length=300)
    """Printed as the buyer's on its invoices."""


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    tax_code: str | None = None
    address: str | None = None


class NewApiKey(BaseModel):
    name: str
    roles: list[str]


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    prefix: str
    name: str
    roles: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once: only its hash is kept")
