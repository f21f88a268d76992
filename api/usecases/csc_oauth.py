"""CSC v2 OAuth 2.0: a portal's ``oauth2/authorize`` request shown to the signed-in citizen,
their yes (with the PIN, and the one-time code when enrolled, for scope ``credential``: the
authorisation use case makes the SAD, counting a wrong PIN) or no; the token endpoint; RFC 7009
revocation; and what a CSC access token allows. The adapters (``api/web/csc_consent.py``,
``api/routes/csc_oauth.py``) draw the page and read the forms."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from api.usecases import authorise as authorisation
from api.usecases.authorise import AuthoriseSignatures, remote_credential
from api.usecases.oidc import TokenRequest
from api.usecases.services import Services
from identity import csc_oauth
from identity.csc_oauth import CscAuthRequest, CscBearer
from identity.errors import InvalidToken, OidcError
from identity.models import Credential, OidcClient, User
from identity.oidc import with_query
from identity.sessions import Principal

__all__ = [
    "ConfirmGrant",
    "CscCall",
    "Pending",
    "caller",
    "confirm",
    "decline",
    "pending",
    "revoke",
    "token",
]


@dataclass(frozen=True)
class Pending:
    """A checked request and, for scope ``credential``, the citizen's credential it names."""

    request: CscAuthRequest
    credential: Credential | None


def _pending(session: Session, params: Mapping[str, str], user: User) -> Pending:
    request = csc_oauth.read_request(session, params)
    credential = None
    if request.credential_id is not None:
        credential = remote_credential(session, user, request.credential_id)
    return Pending(request, credential)


def pending(services: Services, params: Mapping[str, str], user: User) -> Pending:
    """What the consent page shows; ``OidcError`` or ``CredentialNotFound`` when wrong."""
    with services.reading() as session:
        return _pending(session, params, user)


@dataclass(frozen=True, kw_only=True)
class ConfirmGrant:
    params: dict[str, str]
    """The ``oauth2/authorize`` request, checked again."""
    user: User
    pin: str | None = None
    otp: str | None = None


def confirm(services: Services, command: ConfirmGrant) -> str:
    """The citizen's yes: the portal's redirect URI with a code. For scope ``credential`` the
    PIN (and one-time code) make a SAD for exactly the asked hashes first (a wrong PIN is
    counted, and raised)."""
    request = pending(services, command.params, command.user).request
    sad, expires = None, None
    if request.scope == "credential":
        assert request.credential_id is not None
        issued = authorisation.authorise(
            services,
            AuthoriseSignatures(user=command.user, credential_id=request.credential_id,
                                pin=command.pin or "", otp=command.otp,
                                hashes=request.hashes, remote=True),
        )  # fmt: skip
        sad, expires = issued.token, issued.authorisation.expires_at
    with services.unit_of_work() as session:
        return csc_oauth.grant(session, request, user_id=command.user.id, sad=sad,
                               sad_expires_at=expires, now=services.clock())  # fmt: skip


def decline(services: Services, params: Mapping[str, str], user: User) -> str:
    """The citizen's no: the portal's redirect URI with ``access_denied``."""
    request = pending(services, params, user).request
    return with_query(request.redirect_uri, error="access_denied",
                      error_description="the citizen declined", state=request.state)  # fmt: skip


def _client(services: Services, session: Session, command: TokenRequest) -> OidcClient:
    """client_secret_basic, client_secret_post or private_key_jwt, as ``/oidc/token``; public
    clients with ``client_id`` alone (PKCE binds their codes). Only portals given CSC scopes."""
    form = command.form
    if command.basic is None and form.get("client_secret"):
        client = session.get(OidcClient, form.get("client_id", ""))
        presented = csc_oauth.secret_hash(form["client_secret"])
        if (
            client is None
            or client.secret_hash is None
            or not hmac.compare_digest(client.secret_hash, presented)
        ):
            raise OidcError("invalid_client", "client authentication failed")
    else:
        client = services.oidc.client_for_token(session, basic=command.basic, form=form,
                                                endpoint=command.endpoint,
                                                now=services.clock())  # fmt: skip
    if not csc_oauth.allowed_client(client):
        raise OidcError("unauthorized_client", "this application may not use CSC signing")
    return client


def token(services: Services, command: TokenRequest) -> dict[str, Any]:
    with services.unit_of_work() as session:
        client = _client(services, session, command)
        return csc_oauth.exchange(session, client, command.form, services.clock())


def revoke(services: Services, command: TokenRequest) -> None:
    with services.unit_of_work() as session:
        client = _client(services, session, command)
        csc_oauth.revoke(session, client, command.form.get("token", ""), services.clock())


@dataclass(frozen=True)
class CscCall:
    """The caller of a CSC method: the citizen, and the grant when a portal calls with a CSC
    OAuth access token (``None``: the citizen's own kyso token)."""

    principal: Principal
    grant: CscBearer | None = None


def caller(services: Services, access_token: str) -> CscCall:
    """The citizen and grant behind a CSC OAuth access token; 401 when it is not live."""
    with services.reading() as session:
        grant = csc_oauth.bearer(session, access_token, services.clock())
        user = session.get(User, grant.user_id) if grant else None
    if grant is None or user is None or user.disabled:
        raise InvalidToken("the CSC access token is not valid (expired, revoked or unknown)")
    principal = Principal(user=user, roles=frozenset({user.role}),
                          identity_level=user.identity_level, amr=("oauth2",),
                          via="csc_oauth2")  # fmt: skip
    return CscCall(principal, grant)
