"""Administration: the access-token signing key rotated, API keys for agency and billing
systems made and revoked (each audited)."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from identity.audit import record_audit
from identity.errors import AccessDenied
from identity.models import ApiKey, User
from identity.sessions import create_api_key, revoke_api_key

__all__ = [
    "CreateApiKey",
    "RevokeApiKey",
    "RotateTokenKey",
    "create_key",
    "revoke_key",
    "rotate_token_key",
]


@dataclass(frozen=True, kw_only=True)
class RotateTokenKey:
    actor: str


def rotate_token_key(services: Services, command: RotateTokenKey) -> str:
    """The new key's ``kid``; the old one verifies until its tokens expire."""
    now = services.clock()
    with services.unit_of_work() as session:
        row = services.identity.tokens.rotate(session, now)
        record_audit(session, at=now, actor=command.actor, action="token_key.rotate",
                     target=row.kid)  # fmt: skip
        return row.kid


@dataclass(frozen=True, kw_only=True)
class CreateApiKey:
    owner: User
    name: str
    roles: list[str]
    through_api_key: bool = False
    """Asked with an API key (which may not make keys)."""


def create_key(services: Services, command: CreateApiKey) -> tuple[ApiKey, str]:
    """The key and its plain value, shown once."""
    if command.through_api_key:
        raise AccessDenied("an API key cannot create API keys")
    with services.unit_of_work() as session:
        return create_api_key(session, owner=command.owner, name=command.name,
                              roles=command.roles, now=services.clock(),
                              actor=f"user:{command.owner.id}")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RevokeApiKey:
    key_id: str
    by: User
    roles: frozenset[str]
    """What the request may act as (an API key's roles, not its owner's)."""


def revoke_key(services: Services, command: RevokeApiKey) -> ApiKey:
    with services.unit_of_work() as session:
        return revoke_api_key(session, key_id=command.key_id, by=command.by,
                              roles=command.roles, now=services.clock())  # fmt: skip
