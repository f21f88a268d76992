"""The relying parties an administrator keeps: list, look at, remove, give a new secret.

Registering one is ``identity.oidc.register_client``. A client's secret is never stored: only
its SHA-256, compared in constant time at the token endpoint; a new one is shown once.
Removing a client ends what it was given (its pending sign-ins, codes and tokens) in the same
transaction, so a portal that is removed signs nobody in from then on.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, delete, select

from identity.audit import record_audit
from identity.errors import NotFound, OidcClientWithoutSecret
from identity.models import OidcAuthRequest, OidcClient, OidcCode, OidcToken

__all__ = ["ClientFacts", "client_facts", "list_clients", "remove_client", "rotate_secret"]


@dataclass(frozen=True)
class ClientFacts:
    """What an administrator sees of a relying party (never a secret or its hash)."""

    client_id: str
    name: str
    kind: str
    """``public`` (PKCE, no secret), ``private_key_jwt`` (its keys) or ``client_secret``."""
    redirect_uris: list[str]
    scopes: list[str]
    id_token_alg: str
    sector: str
    """What its pairwise subjects are computed over."""
    created_at: datetime
    created_by: str
    live_tokens: int
    """Access and refresh tokens it holds, neither revoked nor expired."""

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


def _kind(client: OidcClient) -> str:
    if client.public:
        return "public"
    return "private_key_jwt" if client.jwks else "client_secret"


def _facts(session: Session, client: OidcClient, now: datetime) -> ClientFacts:
    tokens = session.exec(
        select(OidcToken.token_hash).where(
            OidcToken.client_id == client.id,
            col(OidcToken.kind).in_(("access", "refresh")),
            col(OidcToken.revoked_at).is_(None),
            OidcToken.expires_at > now,
        )
    ).all()
    return ClientFacts(
        client_id=client.id, name=client.name, kind=_kind(client),
        redirect_uris=list(json.loads(client.redirect_uris)), scopes=client.scopes.split(),
        id_token_alg=client.id_token_alg, sector=client.sector, created_at=client.created_at,
        created_by=client.created_by, live_tokens=len(tokens),
    )  # fmt: skip


def _client(session: Session, client_id: str) -> OidcClient:
    client = session.get(OidcClient, client_id)
    if client is None:
        raise NotFound(f"there is no OpenID Connect client {client_id!r}")
    return client


def list_clients(session: Session, now: datetime) -> list[ClientFacts]:
    """Every relying party, the newest first."""
    clients = session.exec(select(OidcClient).order_by(col(OidcClient.created_at).desc())).all()
    return [_facts(session, c, now) for c in clients]


def client_facts(session: Session, client_id: str, now: datetime) -> ClientFacts:
    return _facts(session, _client(session, client_id), now)


def remove_client(session: Session, client_id: str, *, now: datetime, actor: str) -> ClientFacts:
    """Delete the client and everything it was given; what it was, for the record."""
    client = _client(session, client_id)
    facts = _facts(session, client, now)
    for table in (OidcAuthRequest, OidcCode, OidcToken):
        session.exec(delete(table).where(col(table.client_id) == client_id))
    session.delete(client)
    record_audit(session, at=now, actor=actor, action="oidc.client_remove", target=client_id,
                 name=facts.name, tokens_ended=facts.live_tokens)  # fmt: skip
    session.flush()
    return facts


def rotate_secret(session: Session, client_id: str, *, now: datetime, actor: str) -> str:
    """A new secret for a confidential client (the old one stops working at once): returned
    once, only its hash kept."""
    client = _client(session, client_id)
    if _kind(client) != "client_secret":
        raise OidcClientWithoutSecret(
            f"the client {client_id!r} is {_kind(client).replace('_', ' ')}: it has no secret "
            "to rotate"
        )
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hashlib.sha256(secret.encode()).hexdigest()
    session.add(client)
    record_audit(session, at=now, actor=actor, action="oidc.client_rotate_secret",
                 target=client_id, name=client.name)  # fmt: skip
    session.flush()
    return secret
