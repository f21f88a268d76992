"""Signing in: password (and second factor) for tokens, refresh-token rotation, API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from identity.audit import record_audit
from identity.errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidField,
    InvalidToken,
    NotFound,
    OtpRequired,
)
from identity.models import ApiKey, LoginThrottleState, RefreshToken, Role, User
from identity.names import normal_email
from identity.otp import OneTimeCodes
from identity.passwords import LoginThrottle, Passwords
from identity.throttles import source_row, throttle_row
from identity.tokens import TokenSigner

__all__ = [
    "API_KEY_ROLES",
    "IssuedTokens",
    "Principal",
    "SignIn",
    "authenticate_api_key",
    "create_api_key",
    "grantable_roles",
    "is_api_key",
    "revoke_api_key",
]

API_KEY_ROLES = frozenset({Role.AGENCY_OFFICER.value, Role.BILLING_STAFF.value})
"""Roles an agency system's API key may carry: never admin, never a citizen's, and never a
registration officer's (identity proofing is a person looking at a person, not a script)."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    """Seconds the access token lives."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a signed-in user, or an agency system with an API key."""

    user: User
    roles: frozenset[str]
    """What this request may act as: the user's role, or the API key's roles."""
    identity_level: int
    amr: tuple[str, ...]
    via: str
    """``token`` or ``api_key``."""
    api_key_id: str | None = None


class SignIn:
    """Password and second factor in, tokens out; failures counted and throttled."""

    def __init__(
        self,
        passwords: Passwords,
        codes: OneTimeCodes,
        tokens: TokenSigner,
        throttle: LoginThrottle | None = None,
        *,
        source_failures: int = 10,
    ) -> None:
        self._passwords = passwords
        self._codes = codes
        self._tokens = tokens
        self._throttle = throttle or LoginThrottle()
        self._source_throttle = (
            LoginThrottle(free_failures=source_failures, lock_for=timedelta(minutes=15))
            if source_failures
            else None
        )  # fmt: skip
        """Per client address: waits that grow to a minute, never a lock (an office or a
        carrier's NAT shares one address; a lock would shut everyone behind it out)."""

    def _issue(self, session: Session, user: User, amr: list[str], family: str | None,
               now: datetime) -> IssuedTokens:  # fmt: skip
        refresh = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                family=family or secrets.token_hex(8),
                user_id=user.id,
                token_hash=_token_hash(refresh),
                amr=",".join(amr),
                expires_at=now + self._tokens.policy.refresh_ttl,
            )
        )
        access = self._tokens.issue(
            session,
            subject=user.id,
            role=user.role,
            identity_level=user.identity_level,
            amr=amr,
            now=now,
        )
        return IssuedTokens(access, refresh, int(self._tokens.policy.access_ttl.total_seconds()))

    def password_grant(
        self, session: Session, *, email: str, password: str, otp: str | None, now: datetime,
        source: str | None = None,
    ) -> IssuedTokens:  # fmt: skip
        user, amr = self.authenticate(
            session, email=email, password=password, otp=otp, now=now, source=source
        )
        return self._issue(session, user, amr, None, now)

    def authenticate(
        self, session: Session, *, email: str, password: str, otp: str | None, now: datetime,
        source: str | None = None,
    ) -> tuple[User, list[str]]:  # fmt: skip
        """Password (throttled per address, and per ``source``: the client's network address,
        against one machine trying many accounts) and, when enrolled, the one-time code: the
        user and how they proved it (``amr``); recorded in the audit log either way."""
        address = normal_email(email)
        state = _throttle_state(session, address)
        self._throttle.check(state, now)  # the same for addresses with and without accounts
        origin = self._source_state(session, source, now)
        user = session.exec(select(User).where(User.email == address).with_for_update()).first()
        if not self._passwords.verify(user.password_hash if user else None, password) or (
            user is None or user.disabled
        ):
            self._fail(session, state, user, now, "password", origin)
            raise AuthenticationFailed("wrong e-mail address or password")
        amr = ["pwd"]
        if user.totp_enabled:
            if not otp:
                raise OtpRequired("enter the 6-digit code from your authenticator app")
            if not self._codes.check_second_factor(session, user, otp, now):
                self._fail(session, state, user, now, "otp", origin)
                raise AuthenticationFailed("wrong or already used one-time code")
            session.add(user)
            amr.append("otp")
        if state.failures:
            self._throttle.succeeded(state)
            session.add(state)
        record_audit(session, at=now, actor=f"user:{user.id}", action="auth.login",
                     target=user.id, amr=amr)  # fmt: skip
        return user, amr

    def _source_state(
        self, session: Session, source: str | None, now: datetime
    ) -> LoginThrottleState | None:
        """The throttle row of a client address, checked; its count starts again after a
        quiet spell (a success elsewhere does not clear it)."""
        if not source or self._source_throttle is None:
            return None
        return source_row(session, self._source_throttle, f"kyso-login:source:{source}", now)

    def _fail(self, session: Session, state: LoginThrottleState, user: User | None,
              now: datetime, factor: str,
              origin: LoginThrottleState | None = None) -> None:  # fmt: skip
        self._throttle.failed(state, now)
        session.add(state)
        if origin is not None and self._source_throttle is not None:
            self._source_throttle.failed(origin, now)
            session.add(origin)
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}" if user else "anonymous",
            action="auth.login_failed",
            target=user.id if user else f"address:{state.key[:16]}",
            factor=factor,
            failures=state.failures,
            locked=state.locked_until is not None,
        )

    def confirm_presence(
        self, session: Session, user: User, *, password: str, otp: str | None, now: datetime
    ) -> None:
        """Step-up before a sensitive act: the password again, throttled like a sign-in, and
        the one-time code when one is enrolled. One answer for every failure."""
        state = _throttle_state(session, user.email)
        self._throttle.check(state, now)
        session.refresh(user, with_for_update=True)
        confirmed = self._passwords.verify(user.password_hash, password)
        if confirmed and user.totp_enabled:
            confirmed = bool(otp) and self._codes.check_second_factor(session, user, otp or "", now)
            session.add(user)
        if not confirmed:
            self._fail(session, state, user, now, "step_up")
            raise AuthenticationFailed(
                "confirm it is you: your password, and the one-time code if you use one"
            )

    def refresh_grant(self, session: Session, *, refresh_token: str, now: datetime) -> IssuedTokens:
        """Rotate: the presented token is spent; presenting a spent one revokes its family."""
        record = session.exec(
            select(RefreshToken)
            .where(RefreshToken.token_hash == _token_hash(refresh_token))
            .with_for_update()
        ).first()
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            raise InvalidToken("the refresh token is unknown, revoked or expired")
        if record.used_at is not None:
            for member in session.exec(
                select(RefreshToken).where(RefreshToken.family == record.family)
            ):
                member.revoked_at = now
                session.add(member)
            record_audit(session, at=now, actor=f"user:{record.user_id}",
                         action="auth.refresh_reuse", target=record.family)  # fmt: skip
            session.flush()
            raise _ReuseDetected("the refresh token was used already; sign in again")
        user = session.get(User, record.user_id)
        if user is None or user.disabled:
            raise InvalidToken("the account is disabled")
        record.used_at = now
        session.add(record)
        return self._issue(session, user, record.amr.split(","), record.family, now)

    def principal_from_token(self, session: Session, token: str, now: datetime) -> Principal:
        claims = self._tokens.verify(session, token, now)
        user = session.get(User, claims.subject)
        if user is None or user.disabled:
            raise InvalidToken("the account no longer exists or is disabled")
        # Role and level are read afresh: a proofing or a role change counts at once.
        return Principal(
            user=user,
            roles=frozenset({user.role}),
            identity_level=user.identity_level,
            amr=claims.amr,
            via="token",
        )


def _throttle_state(session: Session, address: str) -> LoginThrottleState:
    """The throttle row of an address (see :func:`throttle_row`)."""
    return throttle_row(session, f"kyso-login:{address}")


class _ReuseDetected(InvalidToken):
    commits_work = True


_API_KEY_PREFIX = "kyso_"


def create_api_key(
    session: Session, *, owner: User, name: str, roles: list[str], now: datetime, actor: str
) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and only its hash is kept."""
    bad = [r for r in roles if r not in API_KEY_ROLES]
    if not roles or bad:
        raise InvalidField({"roles": f"choose among {', '.join(sorted(API_KEY_ROLES))}"})
    if not set(roles) <= grantable_roles(owner):
        raise AccessDenied("you can only give a key your own role")
    if not name.strip():
        raise InvalidField({"name": "name the system that will use this key"})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    plain = f"{_API_KEY_PREFIX}{prefix}_{secret}"
    key = ApiKey(
        prefix=prefix,
        key_hash=_token_hash(plain),
        name=name.strip(),
        organisation_id=owner.organisation_id,
        owner_id=owner.id,
        roles=",".join(sorted(set(roles))),
        created_at=now,
    )
    session.add(key)
    session.flush()
    record_audit(session, at=now, actor=actor, action="api_key.create", target=key.id,
                 roles=key.roles, prefix=prefix)  # fmt: skip
    return key, plain


def grantable_roles(owner: User) -> frozenset[str]:
    """The roles ``owner`` may give an API key now: an admin any key role, others their own."""
    if owner.role == Role.ADMIN.value:
        return API_KEY_ROLES
    return API_KEY_ROLES & {owner.role}


def is_api_key(token: str) -> bool:
    return token.startswith(_API_KEY_PREFIX)


def authenticate_api_key(session: Session, presented: str) -> Principal:
    """The key's principal: its roles as far as its owner may still give them (a demoted owner
    narrows the key at once; one left with none is refused); the caller records its use."""
    parts = presented.removeprefix(_API_KEY_PREFIX).split("_", 1)
    key = session.exec(select(ApiKey).where(ApiKey.prefix == parts[0])).first() if parts else None
    if key is None or not hmac.compare_digest(key.key_hash, _token_hash(presented)):
        raise InvalidToken("unknown API key")
    if key.revoked_at is not None:
        raise InvalidToken("this API key was revoked")
    owner = session.get(User, key.owner_id)
    if owner is None or owner.disabled:
        raise InvalidToken("the API key's owner is disabled")
    roles = frozenset(key.roles.split(",")) & grantable_roles(owner)
    if not roles:
        raise InvalidToken("this API key's roles are no longer its owner's")
    return Principal(user=owner, roles=roles,
                     identity_level=owner.identity_level, amr=("api_key",), via="api_key",
                     api_key_id=key.id)  # fmt: skip


def revoke_api_key(
    session: Session, *, key_id: str, by: User, roles: frozenset[str], now: datetime
) -> ApiKey:
    """Revoke one's own key; any key with the admin role (the request's roles, not the
    user's: an admin's agency key acts as an agency officer)."""
    key = session.get(ApiKey, key_id)
    if key is None or (Role.ADMIN.value not in roles and key.owner_id != by.id):
        raise NotFound("no such API key")
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
        record_audit(session, at=now, actor=f"user:{by.id}", action="api_key.revoke",
                     target=key.id)  # fmt: skip
    return key
