"""kyso as an OpenID Connect provider: clients, the authorization code flow with PKCE, tokens,
userinfo, pairwise subjects and levels of assurance. No HTTP here: ``api/routes/oidc.py``
turns requests into these calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlmodel import Session, col, delete, select

from identity.audit import record_audit
from identity.errors import OidcError, OidcReplay, StepUpRequired
from identity.models import CscGrant, OidcAuthRequest, OidcClient, OidcCode, OidcToken, User
from identity.tokens import TokenSigner, epoch, verify_client_assertion, verify_own_jwt

__all__ = [
    "ACR_VALUES",
    "CSC_SCOPES",
    "SCOPES",
    "OidcProvider",
    "acr_of",
    "purge_expired",
    "register_client",
    "with_query",
]

SCOPES = ("openid", "profile", "email", "phone", "cccd", "offline_access")
CSC_SCOPES = ("service", "credential")
"""What a portal may also be given: the CSC API's OAuth 2.0 scopes (``/csc/v2/oauth2/…``),
never asked for through ``/oidc/authorize``."""
ACR_VALUES = ("urn:kyso:loa:1", "urn:kyso:loa:2", "urn:kyso:loa:2:mfa")
"""Levels of assurance, lowest first: self-registered; proofed by an officer; proofed and
signed in with the one-time code too."""
REQUEST_TTL = timedelta(minutes=10)
CODE_TTL = timedelta(seconds=60)
ACCESS_TTL = timedelta(minutes=10)
REFRESH_TTL = timedelta(days=30)
ID_TOKEN_TTL = timedelta(minutes=10)
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PKCE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_TEXT_LIMIT = 500


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _plain(params: Mapping[str, str], name: str) -> str | None:
    """An optional parameter, refused when absurd (too long, control characters)."""
    value = params.get(name)
    if value is not None and (len(value) > _TEXT_LIMIT or any(ord(c) < 32 for c in value)):
        raise OidcError("invalid_request", f"{name} is too long or has control characters")
    return value


def acr_of(user: User, amr: list[str]) -> str:
    if user.identity_level < 2:
        return ACR_VALUES[0]
    return ACR_VALUES[2] if "otp" in amr else ACR_VALUES[1]


def _check_redirect(uri: str) -> str:
    parts = urlsplit(uri)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.fragment
        or (parts.scheme == "http" and not local)
    ):
        raise OidcError(
            "invalid_request",
            f"redirect URIs are absolute https URLs (http only on "
            f"localhost), without fragment: {uri!r}",
            redirect=False,
        )
    return uri


def register_client(
    session: Session,
    *,
    name: str,
    redirect_uris: list[str],
    public: bool,
    scopes: list[str],
    id_token_alg: str = "ES256",  # noqa: S107 - an algorithm name
    jwks: dict[str, Any] | None = None,
    now: datetime,
    actor: str,
) -> tuple[OidcClient, str | None]:
    """A new relying party; its secret (confidential clients without keys) is returned once."""
    if not name.strip() or not redirect_uris:
        raise OidcError(
            "invalid_request", "a client needs a name and a redirect URI", redirect=False
        )
    uris = [_check_redirect(u) for u in redirect_uris]
    if len({urlsplit(u).hostname for u in uris}) != 1:
        raise OidcError(
            "invalid_request",
            "all redirect URIs of a client share one host (its pairwise sector)",
            redirect=False,
        )
    unknown = set(scopes) - set(SCOPES) - set(CSC_SCOPES)
    if unknown or "openid" not in scopes:
        raise OidcError(
            "invalid_scope",
            f"scopes are among {' '.join(SCOPES + CSC_SCOPES)} and include openid",
            redirect=False,
        )
    if id_token_alg not in ("ES256", "RS256"):
        raise OidcError("invalid_request", "ID tokens are ES256 or RS256", redirect=False)
    if jwks is not None and not (isinstance(jwks.get("keys"), list) and jwks["keys"]):
        raise OidcError("invalid_request", 'jwks is a JWK set: {"keys": [...]}', redirect=False)
    secret = None if public or jwks else secrets.token_urlsafe(32)
    client = OidcClient(
        id=f"kyso-{secrets.token_hex(8)}",
        name=name.strip()[:200],
        secret_hash=_hash(secret) if secret else None,
        public=public,
        redirect_uris=json.dumps(uris),
        scopes=" ".join(dict.fromkeys(scopes)),
        id_token_alg=id_token_alg,
        jwks=json.dumps(jwks) if jwks else None,
        sector=urlsplit(uris[0]).hostname or "",
        created_at=now,
        created_by=actor,
    )
    session.add(client)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="oidc.client_register",
        target=client.id,
        name=client.name,
        public=public,
    )
    return client, secret


@dataclass(frozen=True)
class OidcProvider:
    tokens: TokenSigner
    pairwise_key: bytes
    """The secret pairwise subjects are computed with (derived from the master key)."""
    issuer: str

    # --- the authorization request ---------------------------------------------------------

    def begin(
        self, session: Session, params: Mapping[str, str], now: datetime, *, browser: str
    ) -> OidcAuthRequest:
        """Check an authorization request and keep it, bound to the browser that made it,
        while the citizen signs in."""
        client = session.get(OidcClient, params.get("client_id", ""))
        if client is None:
            raise OidcError(
                "invalid_client", "this application is not registered with kyso", redirect=False
            )
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in json.loads(client.redirect_uris):
            raise OidcError(
                "invalid_request",
                "the redirect URI is not one this application registered",
                redirect=False,
            )
        if params.get("response_type") != "code":
            raise OidcError("unsupported_response_type", "only response_type=code is supported")
        scopes = params.get("scope", "").split()
        if "openid" not in scopes:
            raise OidcError("invalid_scope", "scope must include openid")
        if set(scopes) & set(CSC_SCOPES) or not set(scopes) <= set(client.scopes.split()):
            raise OidcError("invalid_scope", f"this application may ask for: {client.scopes}")
        if "none" in params.get("prompt", "").split():
            raise OidcError(
                "login_required", "kyso keeps no sign-in session: the citizen must sign in"
            )
        if "request" in params or "request_uri" in params:
            raise OidcError("request_not_supported", "request objects are not supported")
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if challenge is not None and not _PKCE.fullmatch(challenge):
            raise OidcError("invalid_request", "code_challenge is 43 to 128 URL-safe characters")
        if challenge is not None and method != "S256":
            raise OidcError("invalid_request", "PKCE needs code_challenge_method=S256")
        if challenge is None and client.public:
            raise OidcError("invalid_request", "public clients must use PKCE (S256)")
        required = None
        for value in params.get("acr_values", "").split():
            if value not in ACR_VALUES:
                raise OidcError("invalid_request", f"acr_values are among {' '.join(ACR_VALUES)}")
            if required is None or ACR_VALUES.index(value) < ACR_VALUES.index(required):
                required = value  # the lowest level asked for is what must be met
        request = OidcAuthRequest(
            client_id=client.id,
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            state=_plain(params, "state"),
            nonce=_plain(params, "nonce"),
            code_challenge=challenge,
            acr_required=required,
            csrf=secrets.token_urlsafe(24),
            browser_hash=_hash(browser),
            created_at=now,
            expires_at=now + REQUEST_TTL,
        )
        session.add(request)
        session.flush()
        return request

    def pending(
        self, session: Session, request_id: str, csrf: str, now: datetime, *, browser: str
    ) -> OidcAuthRequest:
        """The request a form posts to, only from the browser that began it and with the
        form's current token."""
        try:
            uuid.UUID(request_id)
        except ValueError:
            request = None
        else:
            request = session.get(OidcAuthRequest, request_id, with_for_update=True)
        if (
            request is None
            or not hmac.compare_digest(request.csrf.encode(), csrf.encode("utf-8", "replace"))
            or not hmac.compare_digest(request.browser_hash, _hash(browser))
        ):
            raise OidcError(
                "invalid_request",
                "this sign-in form is not valid any more: start again from the application",
                redirect=False,
            )
        if request.expires_at <= now:
            raise OidcError(
                "invalid_request", "this sign-in took too long: start again", redirect=False
            )
        return request

    def signed_in(
        self, session: Session, request: OidcAuthRequest, user: User, amr: list[str], now: datetime
    ) -> None:
        """The citizen proved who they are; their level must meet the one asked for. The
        form token changes, so that only the consent page just shown can approve."""
        if request.user_id is not None:
            raise OidcError(
                "invalid_request",
                "someone already signed in on this request: start again",
                redirect=False,
            )
        required = request.acr_required
        if required is not None:
            if user.identity_level < 2 and required != ACR_VALUES[0]:
                raise OidcError(
                    "access_denied",
                    "this service needs an identity proofed at a registration desk (level 2)",
                )
            if required == ACR_VALUES[2] and "otp" not in amr:
                if not user.totp_enabled:
                    raise OidcError(
                        "access_denied",
                        "this service needs a second factor: enrol a one-time code app first",
                    )
                raise StepUpRequired("this service also needs your one-time code")
        request.user_id, request.amr, request.auth_time = user.id, json.dumps(amr), now
        request.csrf = secrets.token_urlsafe(24)
        session.add(request)

    def approve(self, session: Session, request: OidcAuthRequest, now: datetime) -> str:
        """Consent given: the redirect URI with a fresh code."""
        if request.user_id is None or request.auth_time is None:
            raise OidcError("invalid_request", "sign in first", redirect=False)
        user = session.get(User, request.user_id)
        assert user is not None
        code = secrets.token_urlsafe(32)
        amr = json.loads(request.amr)
        session.add(
            OidcCode(
                code_hash=_hash(code),
                client_id=request.client_id,
                user_id=user.id,
                redirect_uri=request.redirect_uri,
                scope=request.scope,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                acr=acr_of(user, amr),
                amr=request.amr,
                auth_time=request.auth_time,
                expires_at=now + CODE_TTL,
            )
        )
        session.delete(request)
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="oidc.sign_in",
            target=request.client_id,
            scope=request.scope,
            amr=amr,
            acr=acr_of(user, amr),
        )
        return with_query(request.redirect_uri, code=code, state=request.state)

    def refuse(self, session: Session, request: OidcAuthRequest, error: OidcError) -> str:
        """The redirect URI carrying the error (and the state)."""
        session.delete(request)
        return with_query(
            request.redirect_uri,
            error=error.error,
            error_description=error.detail,
            state=request.state,
        )

    # --- the token endpoint -----------------------------------------------------------------

    def client_for_token(
        self,
        session: Session,
        *,
        basic: tuple[str, str] | None,
        form: Mapping[str, str],
        endpoint: str,
        now: datetime,
    ) -> OidcClient:
        """client_secret_basic, private_key_jwt, or none for public clients."""
        if basic is not None:
            client = session.get(OidcClient, basic[0])
            if (
                client is None
                or client.secret_hash is None
                or not hmac.compare_digest(client.secret_hash, _hash(basic[1]))
            ):
                raise OidcError("invalid_client", "client authentication failed")
            return client
        if form.get("client_assertion_type") == ASSERTION:
            claims = verify_client_assertion(
                form.get("client_assertion", ""),
                lambda cid: self._client_jwks(session, cid),
                audience=endpoint,
                now=now,
            )
            client = session.get(OidcClient, claims["sub"])
            assert client is not None
            jti = _hash(f"{client.id}:{claims['jti']}")
            if session.get(OidcToken, jti) is not None:
                raise OidcError("invalid_client", "this client assertion was used already")
            session.add(
                OidcToken(
                    token_hash=jti,
                    kind="assertion",
                    client_id=client.id,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
            return client
        client = session.get(OidcClient, form.get("client_id", ""))
        if client is None or not client.public:
            raise OidcError(
                "invalid_client",
                "client authentication failed: use HTTP Basic "
                "(client_secret_basic) or private_key_jwt; only "
                "public clients send client_id alone",
            )
        return client

    def _client_jwks(self, session: Session, client_id: str) -> dict[str, Any] | None:
        client = session.get(OidcClient, client_id)
        return json.loads(client.jwks) if client is not None and client.jwks else None

    def exchange_code(
        self, session: Session, client: OidcClient, form: Mapping[str, str], now: datetime
    ) -> dict[str, Any]:
        code = session.get(OidcCode, _hash(form.get("code", "")), with_for_update=True)
        if code is None or code.client_id != client.id:
            raise OidcError("invalid_grant", "unknown authorization code")
        if code.used_at is not None:
            self._revoke(session, client.id, code.user_id, now)  # a replayed code: end it all
            raise OidcReplay("invalid_grant", "this authorization code was used already")
        if code.expires_at <= now:
            raise OidcError("invalid_grant", "this authorization code has expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OidcError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier")
        if verifier is not None and not _PKCE.fullmatch(verifier):
            raise OidcError("invalid_grant", "code_verifier is 43 to 128 URL-safe characters")
        if code.code_challenge is None and verifier is not None:
            raise OidcError("invalid_grant", "no PKCE challenge was made for this code")
        if code.code_challenge is not None and verifier is None:
            raise OidcError("invalid_grant", "code_verifier is missing (PKCE was used)")
        if code.code_challenge is not None:
            digest = base64.urlsafe_b64encode(hashlib.sha256((verifier or "").encode()).digest())
            if not verifier or not hmac.compare_digest(
                digest.rstrip(b"=").decode(), code.code_challenge
            ):
                raise OidcError("invalid_grant", "the PKCE code_verifier does not match")
        code.used_at = now
        session.add(code)
        user = session.get(User, code.user_id)
        assert user is not None
        return self._tokens(
            session,
            client,
            user,
            scope=code.scope,
            acr=code.acr,
            amr=json.loads(code.amr),
            auth_time=code.auth_time,
            nonce=code.nonce,
            family=str(uuid.uuid4()),
            now=now,
        )

    def refresh(
        self, session: Session, client: OidcClient, form: Mapping[str, str], now: datetime
    ) -> dict[str, Any]:
        row = session.get(OidcToken, _hash(form.get("refresh_token", "")), with_for_update=True)
        if row is None or row.kind != "refresh" or row.client_id != client.id:
            raise OidcError("invalid_grant", "unknown refresh token")
        if row.revoked_at is not None:  # reused: someone else may hold its successor
            for other in session.exec(
                select(OidcToken).where(
                    OidcToken.family == row.family, col(OidcToken.revoked_at).is_(None)
                )
            ):
                other.revoked_at = now
                session.add(other)
            raise OidcReplay(
                "invalid_grant",
                "this refresh token was used already or revoked "
                "(reusing one ends every token of the sign-in)",
            )
        if row.expires_at <= now:
            raise OidcError("invalid_grant", "this refresh token has expired")
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            raise OidcError("invalid_grant", "the account is closed")
        row.revoked_at = now  # rotated: each refresh token is used once
        session.add(row)
        assert row.auth_time is not None
        return self._tokens(
            session,
            client,
            user,
            scope=row.scope,
            acr=acr_of(user, json.loads(row.amr)),
            amr=json.loads(row.amr),
            auth_time=row.auth_time,
            nonce=None,
            family=row.family,
            now=now,
        )

    def _tokens(
        self,
        session: Session,
        client: OidcClient,
        user: User,
        *,
        scope: str,
        acr: str,
        amr: list[str],
        auth_time: datetime,
        nonce: str | None,
        family: str,
        now: datetime,
    ) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        issued = [(access, "access", ACCESS_TTL)]
        offline = "offline_access" in scope.split()
        if offline:  # a refresh token only when the citizen allowed staying signed in
            issued.append((refresh, "refresh", REFRESH_TTL))
        for token, kind, lifetime in issued:
            session.add(
                OidcToken(
                    token_hash=_hash(token),
                    kind=kind,
                    family=family,
                    client_id=client.id,
                    user_id=user.id,
                    scope=scope,
                    acr=acr,
                    amr=json.dumps(amr),
                    auth_time=auth_time,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject(client, user.id),
            "aud": client.id,
            "azp": client.id,
            "iat": epoch(now),
            "exp": epoch(now + ID_TOKEN_TTL),
            "auth_time": epoch(auth_time),
            "acr": acr,
            "amr": amr,
        }
        if nonce:
            claims["nonce"] = nonce
        id_token = self.tokens.sign_claims(session, claims, algorithm=client.id_token_alg, now=now)
        session.flush()
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TTL.total_seconds()),
            "id_token": id_token,
            "scope": scope,
        }
        if offline:
            answer["refresh_token"] = refresh
        return answer

    def subject(self, client: OidcClient, user_id: str) -> str:
        """Pairwise: the same citizen has another ``sub`` at every sector."""
        mac = hmac.new(self.pairwise_key, f"{client.sector}|{user_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    # --- userinfo and logout ----------------------------------------------------------------

    def userinfo(self, session: Session, access_token: str, now: datetime) -> dict[str, Any]:
        row = session.get(OidcToken, _hash(access_token))
        if (
            row is None
            or row.kind != "access"
            or row.revoked_at is not None
            or (row.expires_at <= now)
        ):
            raise OidcError("invalid_token", "the access token is not valid")
        client, user = session.get(OidcClient, row.client_id), session.get(User, row.user_id)
        if client is None or user is None or user.disabled:
            raise OidcError("invalid_token", "the access token is not valid")
        scopes = row.scope.split()
        claims: dict[str, Any] = {"sub": self.subject(client, user.id)}
        if "profile" in scopes:
            claims |= {"name": user.full_name, "identity_level": user.identity_level}
            if user.date_of_birth:
                claims["birthdate"] = user.date_of_birth.isoformat()
            if user.gender:
                claims["gender"] = user.gender
        if "email" in scopes:
            claims |= {"email": user.email, "email_verified": False}
        if "phone" in scopes and user.phone:
            claims |= {"phone_number": user.phone, "phone_number_verified": False}
        if "cccd" in scopes and user.cccd:
            claims["cccd"] = user.cccd
        return claims

    def end_session(self, session: Session, params: Mapping[str, str], now: datetime) -> str | None:
        """RP-initiated logout: the client's tokens for the citizen are revoked; the URL to
        return to (registered by the client) or ``None``."""
        hint = params.get("id_token_hint")
        if not hint:
            return None
        claims = verify_own_jwt(session, self.tokens, hint, issuer=self.issuer, now=now)
        client = session.get(OidcClient, str(claims.get("aud")))
        if client is None:
            raise OidcError("invalid_request", "unknown client in id_token_hint", redirect=False)
        for row in session.exec(
            select(OidcToken).where(
                OidcToken.client_id == client.id, col(OidcToken.revoked_at).is_(None)
            )
        ):
            if row.user_id and self.subject(client, row.user_id) == claims.get("sub"):
                row.revoked_at = now
                session.add(row)
        record_audit(
            session,
            at=now,
            actor=f"client:{client.id}",
            action="oidc.logout",
            target=str(claims.get("sub"))[:64],
        )
        target = params.get("post_logout_redirect_uri")
        if target and target in json.loads(client.redirect_uris):
            return with_query(target, state=params.get("state"))
        return None

    def _revoke(self, session: Session, client_id: str, user_id: str, now: datetime) -> None:
        for row in session.exec(
            select(OidcToken).where(
                OidcToken.client_id == client_id,
                OidcToken.user_id == user_id,
                col(OidcToken.revoked_at).is_(None),
            )
        ):
            row.revoked_at = now
            session.add(row)


def with_query(uri: str, **values: str | None) -> str:
    """``uri`` with these query parameters added (to any it has)."""
    query = urlencode({k: v for k, v in values.items() if v is not None})
    if not query:
        return uri
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{query}"


def purge_expired(session: Session, now: datetime) -> int:
    """Delete sign-in requests, codes, tokens, CSC grants and assertion ids a day after they
    expired (the audit log keeps what happened); how many rows went."""
    cutoff = now - timedelta(days=1)
    removed = 0
    for table in (OidcAuthRequest, OidcCode, OidcToken, CscGrant):
        result = session.execute(delete(table).where(col(table.expires_at) < cutoff))
        removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed
