"""Tables of identity: organisations, users, proofing, second factor, tokens, keys, credentials."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from certs.models import utc_column

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditHead",
    "Credential",
    "CredentialStatus",
    "CscGrant",
    "IdentityProofing",
    "LoginThrottleState",
    "OidcAuthRequest",
    "OidcClient",
    "OidcCode",
    "OidcToken",
    "Organisation",
    "PinResetRequest",
    "RecoveryCode",
    "RefreshToken",
    "Role",
    "SignatureAuthorisation",
    "TokenSigningKey",
    "User",
    "WebSession",
    "new_id",
]


def new_id() -> str:
    return str(uuid.uuid4())


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    REGISTRATION_OFFICER = "registration_officer"
    AGENCY_OFFICER = "agency_officer"
    BILLING_STAFF = "billing_staff"
    ADMIN = "admin"


class Organisation(SQLModel, table=True):
    """An agency or a company; its members bill to it."""

    __tablename__ = "organisation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=utc_column())
    tax_code: str | None = Field(default=None, max_length=14)
    """Its tax code (mã số thuế), printed as the buyer's on its invoices."""
    address: str | None = Field(default=None, max_length=300)
    """Its address, printed as the buyer's on its invoices."""


class User(SQLModel, table=True):
    """A person with an account: a citizen or a member of staff."""

    __tablename__ = "app_user"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    email: str = Field(max_length=254, unique=True, index=True)
    role: str = Field(max_length=32, index=True)
    full_name: str = Field(max_length=64)
    cccd: str | None = Field(default=None, max_length=12, unique=True)
    """The CCCD the account holds: only a proofed one (one account per CCCD)."""
    claimed_cccd: str | None = Field(default=None, max_length=12, index=True)
    """The CCCD an unproofed account gave: it holds it against nobody (several may claim one,
    and registration officers see them side by side)."""
    date_of_birth: date | None = None
    gender: str | None = Field(default=None, max_length=8)
    phone: str | None = Field(default=None, max_length=16)
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=36)
    password_hash: str = Field(max_length=256)
    identity_level: int = 1
    created_at: datetime = Field(sa_column=utc_column())
    disabled: bool = False
    totp_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    totp_enabled: bool = False
    totp_last_step: int = 0


class LoginThrottleState(SQLModel, table=True):
    """Recent sign-in failures for one e-mail address (kept by hash, whether an account exists
    or not, so that the throttle tells nobody which addresses have accounts)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class IdentityProofing(SQLModel, table=True):
    """A registration officer's check of a person, raising them to level 2."""

    __tablename__ = "identity_proofing"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    officer_id: str = Field(foreign_key="app_user.id", max_length=36)
    document: str = Field(max_length=64)
    method: str = Field(max_length=32)
    notes: str = Field(default="", max_length=1000)
    checked_at: datetime = Field(sa_column=utc_column())


class PinResetRequest(SQLModel, table=True):
    """A citizen without a second factor asks to reset a PIN: a registration officer who sees
    them in person approves it, and the next reset (with the password) within a day uses it."""

    __tablename__ = "pin_reset_request"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    credential_id: str = Field(foreign_key="credential.id", max_length=36)
    requested_at: datetime = Field(sa_column=utc_column())
    officer_id: str | None = Field(default=None, foreign_key="app_user.id", max_length=36)
    method: str | None = Field(default=None, max_length=32)
    approved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class RecoveryCode(SQLModel, table=True):
    """A one-time recovery code for the second factor, kept only as a keyed hash."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    code_hash: str = Field(max_length=64, unique=True)
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class RefreshToken(SQLModel, table=True):
    """A refresh token (hash only), rotated on use; reuse of a rotated one revokes the family."""

    __tablename__ = "refresh_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    family: str = Field(index=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    amr: str = Field(default="pwd", max_length=32)
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WebSession(SQLModel, table=True):
    """A browser's signed-in session: only the hash of its cookie is kept. It ends at
    ``expires_at``, after ``idle`` without use, or at sign-out (``ended_at``)."""

    __tablename__ = "web_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    amr: str = Field(default="pwd", max_length=32)
    created_at: datetime = Field(sa_column=utc_column())
    last_seen_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column(index=True))
    ended_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class TokenSigningKey(SQLModel, table=True):
    """A JWT signing key (in the key store): signs until retired, verifies until it expires."""

    __tablename__ = "token_signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    key_id: str = Field(max_length=128)
    algorithm: str = Field(max_length=8)
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    retired_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    verify_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ApiKey(SQLModel, table=True):
    """A key for an agency system: shown once, kept as a hash, scoped to roles, revocable."""

    __tablename__ = "api_key"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    name: str = Field(max_length=100)
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=36)
    owner_id: str = Field(foreign_key="app_user.id", max_length=36)
    roles: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=utc_column())
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class CredentialStatus(enum.StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"


class Credential(SQLModel, table=True):
    """A signing credential: certificate plus the key sealed under PIN and under PUK.

    ``key_source`` is ``service`` (generated here, sealed twice) or ``token`` (CSR: the holder
    keeps the key; nothing sealed here).
    """

    __tablename__ = "credential"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    serial: str = Field(max_length=48, unique=True)
    certificate: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_source: str = Field(max_length=16)
    key_algorithm: str = Field(max_length=16)
    sealed_by_pin: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sealed_by_puk: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(max_length=16, index=True)
    failed_pin_attempts: int = 0
    pins_in_flight: int = 0
    """PIN attempts taken by requests still checking them (they count against the five)."""
    pin_flight_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """When the latest in-flight attempt was taken; older ones are forgotten after a minute
    (a process that died mid-check must not eat attempts for ever)."""
    created_at: datetime = Field(sa_column=utc_column())
    not_after: datetime = Field(sa_column=utc_column())
    ended_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class SignatureAuthorisation(SQLModel, table=True):
    """A short-lived, single-use SAD: the unlocked key sealed under a secret only the client has.

    ``hashes`` lists the hex digests it may sign (or is empty with ``max_signatures`` for a
    batch counted by number).
    """

    __tablename__ = "signature_authorisation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    credential_id: str = Field(foreign_key="credential.id", index=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", max_length=36)
    secret_hash: str = Field(max_length=64)
    sealed_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    hashes: str = Field(default="", sa_column=Column(Text, nullable=False))
    max_signatures: int = 1
    used_signatures: int = 0
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())


class AuditHead(SQLModel, table=True):
    """The newest audit record's sequence and hash: locked to append, compared to verify."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class AuditEvent(SQLModel, table=True):
    """One audit record. Rows are only inserted; each carries the previous record's hash."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("seq"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    at: datetime = Field(sa_column=utc_column(index=True))
    actor: str = Field(max_length=128)
    action: str = Field(index=True, max_length=64)
    target: str = Field(max_length=256)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class OidcClient(SQLModel, table=True):
    """A relying party registered by an administrator (a public-service portal)."""

    __tablename__ = "oidc_client"

    id: str = Field(primary_key=True, max_length=64)
    """The ``client_id``."""
    name: str = Field(max_length=200)
    secret_hash: str | None = Field(default=None, max_length=64)
    """SHA-256 of the client secret (confidential clients); the secret is shown once."""
    public: bool = False
    redirect_uris: str = Field(sa_column=Column(Text, nullable=False))
    """JSON list, matched exactly."""
    scopes: str = Field(max_length=300)
    """The scopes it may ask for, space-separated."""
    id_token_alg: str = Field(default="ES256", max_length=8)
    jwks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Its public keys (JSON JWKS) for private_key_jwt client authentication."""
    sector: str = Field(max_length=255)
    """What pairwise subjects are computed over (its redirect URIs' host)."""
    created_at: datetime = Field(sa_column=utc_column())
    created_by: str = Field(max_length=120)
    signing_requests: bool = False
    """A portal: it may ask citizens to sign documents (``POST /v1/signing-requests``)."""
    payer_organisation_id: str | None = Field(default=None, max_length=36)
    """The organisation that pays for the signatures it sponsors (payer ``sponsor``)."""
    webhook_urls: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """JSON list of the webhook URLs its signing requests may name, matched exactly."""


class SigningRequestState(enum.StrEnum):
    PENDING = "pending"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    FAILED = "failed"


class SigningRequest(SQLModel, table=True):
    """A portal asks a citizen to sign documents on kyso's own page; the citizen signs them
    all with the PIN there, or declines; the portal learns the outcome (return URL, webhook,
    polling) and downloads the signed PDFs."""

    __tablename__ = "signing_request"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(foreign_key="oidc_client.id", index=True, max_length=64)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    """The citizen who must sign (resolved from the pairwise ``sub`` or the CCCD)."""
    purpose: str = Field(max_length=300)
    return_url: str = Field(max_length=2000)
    webhook_url: str | None = Field(default=None, max_length=2000)
    payer: str = Field(max_length=10)
    """``citizen`` or ``sponsor``."""
    sponsor_organisation_id: str | None = Field(
        default=None, foreign_key="organisation.id", max_length=36
    )
    state: str = Field(default=SigningRequestState.PENDING.value, index=True, max_length=10)
    reason: str | None = Field(default=None, max_length=60)
    """Why it failed: the refusal's stable code (``identity.level_too_low``, …)."""
    documents: str = Field(sa_column=Column(Text, nullable=False))
    """JSON list of ``{"draft": id, "filename": name}``: the PDFs as uploaded, kept with their
    page pictures."""
    signature_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """JSON list: the signature of each document, in order, once signed."""
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    webhook_attempts: int = 0
    webhook_delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OidcAuthRequest(SQLModel, table=True):
    """An authorization request waiting for the citizen to sign in and consent."""

    __tablename__ = "oidc_auth_request"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=300)
    state: str | None = Field(default=None, max_length=500)
    nonce: str | None = Field(default=None, max_length=500)
    code_challenge: str | None = Field(default=None, max_length=128)
    acr_required: str | None = Field(default=None, max_length=40)
    csrf: str = Field(max_length=64)
    browser_hash: str = Field(default="", max_length=64)
    """SHA-256 of the secret in the browser's cookie: only that browser may sign in and
    consent on this request."""
    user_id: str | None = Field(default=None, max_length=36)
    amr: str = Field(default="[]", max_length=40)
    auth_time: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())


class OidcCode(SQLModel, table=True):
    """An authorization code: single-use, a minute long, bound to its client, redirect URI and
    PKCE challenge."""

    __tablename__ = "oidc_code"

    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64)
    user_id: str = Field(max_length=36)
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=300)
    nonce: str | None = Field(default=None, max_length=500)
    code_challenge: str | None = Field(default=None, max_length=128)
    acr: str = Field(max_length=40)
    amr: str = Field(max_length=40)
    auth_time: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OidcToken(SQLModel, table=True):
    """An access or refresh token given to a relying party (stored hashed), or a client
    assertion's ``jti`` kept until it expires so it cannot be replayed."""

    __tablename__ = "oidc_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=12)
    family: str = Field(default="", index=True, max_length=36)
    """Tokens descending from one authorization code; a reused refresh token ends them all."""
    client_id: str = Field(index=True, max_length=64)
    user_id: str | None = Field(default=None, index=True, max_length=36)
    scope: str = Field(default="", max_length=300)
    acr: str = Field(default="", max_length=40)
    amr: str = Field(default="[]", max_length=40)
    auth_time: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class CscGrant(SQLModel, table=True):
    """A CSC v2 OAuth 2.0 authorisation a citizen gave a portal on kyso's page: first its
    code (single-use, a minute long, bound to the client, redirect URI and PKCE challenge),
    then its access token (stored hashed). Scope ``service`` lists and describes credentials;
    scope ``credential`` carries the SAD the citizen's PIN made for exactly these hashes,
    sealed under the code and then under the token (kyso cannot use it without them)."""

    __tablename__ = "csc_grant"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(index=True, max_length=64)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    scope: str = Field(max_length=20)
    credential_id: str | None = Field(default=None, max_length=36)
    hashes: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """JSON list of the hex SHA-256 digests a ``credential`` grant signs."""
    redirect_uri: str = Field(max_length=2000)
    code_challenge: str = Field(max_length=128)
    code_hash: str = Field(unique=True, max_length=64)
    code_expires_at: datetime = Field(sa_column=utc_column())
    code_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    sealed_sad: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    """When the grant (its token, or its unused code) ends."""
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
