"""Signing in: the OAuth 2.0 token endpoint's grants, a browser's session (opened, resumed,
ended), and an API key's last use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from api.usecases.services import Services
from identity.models import ApiKey, User, WebSession
from identity.sessions import IssuedTokens

__all__ = [
    "OpenWebSession",
    "PasswordGrant",
    "RefreshGrant",
    "end_web_session",
    "note_api_key_use",
    "open_web_session",
    "password_grant",
    "refresh_grant",
    "resume_web_session",
]

API_KEY_USE_EVERY = timedelta(minutes=1)
"""An API key's last use is written at most this often (not on every request)."""


@dataclass(frozen=True, kw_only=True)
class PasswordGrant:
    email: str
    password: str
    otp: str | None = None
    source: str | None = None
    """The client's network address (sign-in failures are throttled per address too)."""


def password_grant(services: Services, command: PasswordGrant) -> IssuedTokens:
    with services.unit_of_work() as session:
        return services.identity.sign_in.password_grant(
            session, email=command.email, password=command.password, otp=command.otp,
            now=services.clock(), source=command.source,
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RefreshGrant:
    refresh_token: str


def refresh_grant(services: Services, command: RefreshGrant) -> IssuedTokens:
    with services.unit_of_work() as session:
        return services.identity.sign_in.refresh_grant(
            session, refresh_token=command.refresh_token, now=services.clock()
        )


@dataclass(frozen=True, kw_only=True)
class OpenWebSession:
    email: str
    password: str
    otp: str | None = None
    source: str | None = None


def open_web_session(services: Services, command: OpenWebSession) -> tuple[User, str]:
    """The user and the new browser session's token (for its cookie)."""
    now = services.clock()
    with services.unit_of_work() as session:
        user, amr = services.identity.sign_in.authenticate(
            session, email=command.email, password=command.password, otp=command.otp,
            now=now, source=command.source,
        )  # fmt: skip
        return user, services.identity.web.open(session, user, amr, now)


def resume_web_session(services: Services, token: str) -> tuple[WebSession, User] | None:
    """The browser session of ``token`` and its user, touched when it is due (so that it
    ends 30 idle minutes after the last request); None when it ended."""
    now = services.clock()
    sessions = services.identity.web
    with services.reading() as reading:
        found = sessions.resume(reading, token, now)
    if found is None:
        return None
    record, user = found
    if now - record.last_seen_at >= sessions.policy.touch_every:
        with services.unit_of_work() as writing:
            live = writing.get(WebSession, record.id)
            if live is not None:
                sessions.touch(writing, live, now)
                record = live
    return record, user


def end_web_session(services: Services, token: str) -> None:
    with services.unit_of_work() as session:
        services.identity.web.end(session, token, services.clock())


def note_api_key_use(services: Services, key_id: str) -> None:
    """Write when an API key was last used (at most once a minute: most requests only read)."""
    now = services.clock()

    def stale(key: ApiKey | None) -> bool:
        return key is not None and (
            key.last_used_at is None or now - key.last_used_at >= API_KEY_USE_EVERY
        )

    with services.reading() as session:
        if not stale(session.get(ApiKey, key_id)):
            return
    with services.unit_of_work() as session:
        key = session.get(ApiKey, key_id)
        if stale(key):
            assert key is not None
            key.last_used_at = now
            session.add(key)
