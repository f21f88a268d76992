"""kyso as an OpenID Connect provider: a portal registered, a citizen's authorization (begun,
signed in, consented to or refused), the token and userinfo endpoints, RP-initiated logout,
and the keys that sign ID tokens. The adapter (``api/routes/oidc.py``) draws the pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.usecases.services import Services
from identity.errors import (
    AuthenticationFailed,
    IdentityError,
    OidcError,
    OtpRequired,
    StepUpRequired,
    Throttled,
)
from identity.models import OidcAuthRequest, OidcClient
from identity.oidc import register_client

__all__ = [
    "Authorization",
    "RegisterClient",
    "SignInToAuthorize",
    "TokenRequest",
    "begin",
    "decide",
    "end_session",
    "jwks",
    "register",
    "sign_in",
    "token",
    "userinfo",
]


@dataclass(frozen=True, kw_only=True)
class RegisterClient:
    name: str
    redirect_uris: list[str]
    public: bool = False
    scopes: list[str]
    id_token_alg: str = "ES256"  # noqa: S105 - an algorithm name
    jwks: dict[str, Any] | None = None
    """The client's public keys, for ``private_key_jwt``."""
    actor: str


def register(services: Services, command: RegisterClient) -> tuple[OidcClient, str | None]:
    """The relying party, and its secret (confidential clients without keys), shown once."""
    with services.unit_of_work() as session:
        return register_client(
            session, name=command.name, redirect_uris=command.redirect_uris,
            public=command.public, scopes=command.scopes, id_token_alg=command.id_token_alg,
            jwks=command.jwks, now=services.clock(), actor=command.actor,
        )  # fmt: skip


def jwks(services: Services) -> list[dict[str, Any]]:
    """The public keys that verify ID tokens (the RS256 key is made on first need)."""
    tokens = services.identity.tokens
    now = services.clock()
    with services.unit_of_work() as session:
        tokens.current_key(session, now)
        tokens.current_rsa_key(session, now)
        return list(tokens.verification_keys(session, now).values())


@dataclass(frozen=True)
class Authorization:
    """A pending authorization and its client, and what the sign-in form should say."""

    pending: OidcAuthRequest
    client: OidcClient
    refusal: IdentityError | None = None
    """Why the sign-in did not go through (the form is shown again, saying it)."""
    redirect: str | None = None
    """Where the browser goes next (the client's redirect URI, with an error)."""


def begin(services: Services, params: Mapping[str, str], *, browser: str) -> Authorization:
    """The request checked and kept, bound to ``browser``; ``OidcError`` when it is wrong
    (``redirect`` on the error says whether the client may be told)."""
    with services.unit_of_work() as session:
        pending = services.oidc.begin(session, params, services.clock(), browser=browser)
        client = session.get(OidcClient, pending.client_id)
        assert client is not None
        return Authorization(pending, client)


@dataclass(frozen=True, kw_only=True)
class SignInToAuthorize:
    request_id: str
    csrf: str
    browser: str
    email: str
    password: str
    otp: str | None = None
    source: str | None = None


def sign_in(services: Services, command: SignInToAuthorize) -> Authorization:
    """The citizen signs in on the authorization's form. Refusals are the outcome, not raised:
    their bookkeeping (failures counted) commits with the rest. ``OidcError`` when the form
    is not this browser's pending request."""
    oidc, now = services.oidc, services.clock()
    with services.unit_of_work() as session:
        pending = oidc.pending(session, command.request_id, command.csrf, now,
                               browser=command.browser)  # fmt: skip
        client = session.get(OidcClient, pending.client_id)
        assert client is not None
        try:
            user, amr = services.identity.sign_in.authenticate(
                session, email=command.email, password=command.password, otp=command.otp,
                now=now, source=command.source,
            )  # fmt: skip
            oidc.signed_in(session, pending, user, amr, now)
        except (OtpRequired, StepUpRequired, AuthenticationFailed, Throttled) as refused:
            return Authorization(pending, client, refusal=refused)
        except OidcError as error:
            if not error.redirect:
                raise
            return Authorization(pending, client, redirect=oidc.refuse(session, pending, error))
        return Authorization(pending, client)


def decide(services: Services, *, request_id: str, csrf: str, browser: str, approve: bool) -> str:
    """The citizen's consent, or refusal: where the browser goes (the client's redirect URI
    with a code, or with ``access_denied``)."""
    oidc, now = services.oidc, services.clock()
    with services.unit_of_work() as session:
        pending = oidc.pending(session, request_id, csrf, now, browser=browser)
        if not approve:
            denied = OidcError("access_denied", "the citizen did not allow it")
            return oidc.refuse(session, pending, denied)
        return oidc.approve(session, pending, now)


@dataclass(frozen=True, kw_only=True)
class TokenRequest:
    form: dict[str, str]
    basic: tuple[str, str] | None
    """``client_secret_basic`` credentials, when sent."""
    endpoint: str
    """The token endpoint's URL (a client assertion's audience)."""


def token(services: Services, command: TokenRequest) -> dict[str, Any]:
    oidc, now = services.oidc, services.clock()
    with services.unit_of_work() as session:
        client = oidc.client_for_token(session, basic=command.basic, form=command.form,
                                       endpoint=command.endpoint, now=now)  # fmt: skip
        grant = command.form.get("grant_type")
        if grant == "authorization_code":
            return oidc.exchange_code(session, client, command.form, now)
        if grant == "refresh_token":
            return oidc.refresh(session, client, command.form, now)
        raise OidcError("unsupported_grant_type", "authorization_code or refresh_token")


def userinfo(services: Services, access_token: str) -> dict[str, Any]:
    with services.reading() as session:
        return services.oidc.userinfo(session, access_token, services.clock())


def end_session(services: Services, params: Mapping[str, str]) -> str | None:
    """RP-initiated logout: where to send the browser, if anywhere."""
    with services.unit_of_work() as session:
        return services.oidc.end_session(session, params, services.clock())
