"""CSC API v2 OAuth 2.0 (``oauth2/authorize``, ``oauth2/token``, ``oauth2/revoke``): a
registered portal asks, the citizen says yes on kyso's own page, the portal gets a code and
then an access token. Scope ``service`` lists and describes the citizen's credentials; scope
``credential`` is bound to one credential and exactly these hashes: it carries the SAD the
citizen's PIN made (sealed under the code, then under the token, so that kyso cannot use it
without what the portal holds) and signs them once. No HTTP here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, select

from identity.audit import record_audit
from identity.errors import OidcError, OidcReplay
from identity.models import CscGrant, OidcClient
from identity.oidc import CSC_SCOPES, with_query

__all__ = [
    "CODE_TTL",
    "CSC_SCOPES",
    "SERVICE_TTL",
    "SHA256_OID",
    "TOKEN_PREFIX",
    "CscAuthRequest",
    "CscBearer",
    "allowed_client",
    "bearer",
    "exchange",
    "grant",
    "is_csc_token",
    "read_request",
    "revoke",
    "secret_hash",
]

SHA256_OID = "2.16.840.1.101.3.4.2.1"
CODE_TTL = timedelta(seconds=60)
SERVICE_TTL = timedelta(minutes=10)
TOKEN_PREFIX = "kcsc_"  # noqa: S105 - tells a CSC OAuth token from the others
MAX_HASHES = 100
_PKCE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def secret_hash(secret: str) -> str:
    """How a client secret is kept (as ``/oidc/token`` checks it)."""
    return _hash(secret)


def is_csc_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def allowed_client(client: OidcClient) -> bool:
    """A portal may use CSC OAuth 2.0 when an administrator gave it ``service`` or
    ``credential`` among its scopes."""
    return bool(set(client.scopes.split()) & set(CSC_SCOPES))


@dataclass(frozen=True)
class CscAuthRequest:
    """An ``oauth2/authorize`` request, checked."""

    client_id: str
    client_name: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    scope: str
    credential_id: str | None
    hashes: tuple[bytes, ...]


def _refuse(error: str, detail: str) -> OidcError:
    return OidcError(error, detail)


def _digests(values: list[str], name: str) -> tuple[bytes, ...]:
    try:
        decoded = [base64.urlsafe_b64decode(v.replace("+", "-").replace("/", "_")
                                            + "=" * (-len(v) % 4)) for v in values]  # fmt: skip
    except (binascii.Error, ValueError):
        raise _refuse("invalid_request", f"{name}: base64url SHA-256 hashes") from None
    if not 1 <= len(decoded) <= MAX_HASHES or any(len(d) != 32 for d in decoded):
        raise _refuse("invalid_request", f"{name}: 1 to {MAX_HASHES} SHA-256 hashes (32 bytes)")
    if len(set(decoded)) != len(decoded):
        raise _refuse("invalid_request", f"{name}: each hash once")
    return tuple(decoded)


def _details(raw: str) -> tuple[str, list[str], str | None, int | None]:
    """``authorization_details`` (RFC 9396, CSC type ``credential``): the credential, the
    hashes, their algorithm and how many signatures."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise _refuse("invalid_request", "authorization_details is not JSON") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if len(items) != 1 or not isinstance(items[0], dict) or items[0].get("type") != "credential":
        raise _refuse("invalid_request", 'authorization_details: one object of type "credential"')
    item: dict[str, Any] = items[0]
    digests = item.get("documentDigests")
    if not isinstance(digests, list) or not all(
        isinstance(d, dict) and isinstance(d.get("hash"), str) for d in digests
    ):
        raise _refuse("invalid_request", 'authorization_details: documentDigests [{"hash"}]')
    credential = item.get("credentialID")
    if not isinstance(credential, str):
        raise _refuse("invalid_request", "authorization_details: credentialID is missing")
    algorithm = item.get("hashAlgorithmOID")
    count = item.get("numSignatures")
    return (credential, [d["hash"] for d in digests],
            algorithm if isinstance(algorithm, str) else None,
            count if isinstance(count, int) else None)  # fmt: skip


def read_request(session: Session, params: Mapping[str, str]) -> CscAuthRequest:
    """The request checked: ``OidcError`` when wrong (``redirect=False`` when the client or its
    redirect URI is what is wrong, so the portal cannot be told)."""
    client = session.get(OidcClient, params.get("client_id", ""))
    if client is None or not allowed_client(client):
        raise OidcError("unauthorized_client",
                        "this application is not registered with kyso for CSC signing",
                        redirect=False)  # fmt: skip
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in json.loads(client.redirect_uris):
        raise OidcError("invalid_request",
                        "the redirect URI is not one this application registered",
                        redirect=False)  # fmt: skip
    if params.get("response_type") != "code":
        raise _refuse("unsupported_response_type", "only response_type=code is supported")
    challenge = params.get("code_challenge", "")
    if params.get("code_challenge_method") != "S256" or not _PKCE.fullmatch(challenge):
        raise _refuse("invalid_request", "PKCE is required: code_challenge with method S256")
    state = params.get("state")
    if state is not None and (len(state) > 500 or any(ord(c) < 32 for c in state)):
        raise _refuse("invalid_request", "state is too long or has control characters")
    details = params.get("authorization_details")
    scope = params.get("scope", "credential" if details else "")
    if scope not in CSC_SCOPES:
        raise _refuse("invalid_scope", "scope is service or credential")
    if scope not in client.scopes.split():
        raise _refuse("invalid_scope", f"this application may ask for: {client.scopes}")
    credential_id: str | None = None
    hashes: tuple[bytes, ...] = ()
    if scope == "credential":
        credential_id, hashes = _credential_part(params, details)
    return CscAuthRequest(client.id, client.name, redirect_uri, state, challenge, scope,
                          credential_id, hashes)  # fmt: skip


def _credential_part(
    params: Mapping[str, str], details: str | None
) -> tuple[str, tuple[bytes, ...]]:
    if details:
        credential_id, raw, algorithm, count = _details(details)
    else:
        credential_id = params.get("credentialID", "")
        raw = [h for h in params.get("hashes", "").split(",") if h]
        algorithm = params.get("hashAlgorithmOID")
        number = params.get("numSignatures", "")
        count = int(number) if re.fullmatch(r"[0-9]{1,3}", number) else None
        if count is None:
            raise _refuse("invalid_request", "numSignatures is required with scope credential")
    if not _UUID.fullmatch(credential_id):
        raise _refuse("invalid_request", "credentialID is missing or not one of kyso's")
    if algorithm != SHA256_OID:
        raise _refuse("invalid_request", f"hashAlgorithmOID is {SHA256_OID} (SHA-256)")
    hashes = _digests(raw, "hashes")
    if count is not None and count != len(hashes):
        raise _refuse("invalid_request", "numSignatures must equal the number of hashes")
    return credential_id, hashes


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"kyso csc sad|" + secret.encode()).digest()


def _seal(secret: str, sad: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_key(secret)).encrypt(nonce, sad.encode(), None)


def _open(secret: str, sealed: bytes) -> str:
    try:
        return AESGCM(_key(secret)).decrypt(sealed[:12], sealed[12:], None).decode()
    except (InvalidTag, ValueError):
        raise OidcError("invalid_grant", "this grant cannot be opened") from None


def grant(
    session: Session,
    request: CscAuthRequest,
    *,
    user_id: str,
    sad: str | None,
    sad_expires_at: datetime | None,
    now: datetime,
) -> str:
    """The citizen said yes: the redirect URI with a fresh code (and the state)."""
    code = secrets.token_urlsafe(32)
    expires = sad_expires_at if sad_expires_at is not None else now + SERVICE_TTL
    session.add(
        CscGrant(
            client_id=request.client_id,
            user_id=user_id,
            scope=request.scope,
            credential_id=request.credential_id,
            hashes=json.dumps([h.hex() for h in request.hashes]),
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            code_hash=_hash(code),
            code_expires_at=now + CODE_TTL,
            sealed_sad=_seal(code, sad) if sad else None,
            created_at=now,
            expires_at=expires,
        )
    )
    record_audit(session, at=now, actor=f"user:{user_id}", action="csc.oauth2_grant",
                 target=request.client_id, scope=request.scope,
                 credential_id=request.credential_id, hashes=len(request.hashes))  # fmt: skip
    return with_query(request.redirect_uri, code=code, state=request.state)


def exchange(
    session: Session, client: OidcClient, form: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    """``authorization_code`` with its ``code_verifier``: the access token. A code is used
    once; presented again, what it gave is revoked."""
    if form.get("grant_type") != "authorization_code":
        raise OidcError("unsupported_grant_type", "grant_type is authorization_code")
    code = form.get("code", "")
    row = session.exec(
        select(CscGrant).where(CscGrant.code_hash == _hash(code)).with_for_update()
    ).first()
    if row is None or row.client_id != client.id:
        raise OidcError("invalid_grant", "unknown authorization code")
    if row.code_used_at is not None:
        row.revoked_at, row.sealed_sad = row.revoked_at or now, None
        session.add(row)
        raise OidcReplay("invalid_grant", "this authorization code was used already")
    if row.code_expires_at <= now or row.revoked_at is not None:
        raise OidcError("invalid_grant", "this authorization code has expired")
    if form.get("redirect_uri") != row.redirect_uri:
        raise OidcError("invalid_grant", "redirect_uri differs from the authorization request")
    verifier = form.get("code_verifier", "")
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    if not _PKCE.fullmatch(verifier) or not hmac.compare_digest(
        digest.rstrip(b"=").decode(), row.code_challenge
    ):
        raise OidcError("invalid_grant", "the PKCE code_verifier does not match")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row.code_used_at, row.token_hash = now, _hash(token)
    if row.sealed_sad is not None:
        row.sealed_sad = _seal(token, _open(code, row.sealed_sad))
    session.add(row)
    session.flush()
    answer: dict[str, Any] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": max(1, int((row.expires_at - now).total_seconds())),
        "scope": row.scope,
    }
    if row.credential_id:
        answer["credentialID"] = row.credential_id
    return answer


@dataclass(frozen=True)
class CscBearer:
    """What a CSC OAuth access token allows."""

    grant_id: str
    client_id: str
    user_id: str
    scope: str
    credential_id: str | None
    hashes: tuple[str, ...]
    sad: str | None
    """The SAD of a ``credential`` grant (opened with the token)."""


def bearer(session: Session, token: str, now: datetime) -> CscBearer | None:
    """The grant behind a live access token, or ``None``."""
    row = session.exec(select(CscGrant).where(CscGrant.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    sad = _open(token, row.sealed_sad) if row.sealed_sad is not None else None
    return CscBearer(row.id, row.client_id, row.user_id, row.scope, row.credential_id,
                     tuple(json.loads(row.hashes)), sad)  # fmt: skip


def revoke(session: Session, client: OidcClient, token: str, now: datetime) -> None:
    """RFC 7009: the token (or the code) ends, if it is this client's; nothing is said
    either way."""
    hashed = _hash(token)
    row = session.exec(
        select(CscGrant).where((CscGrant.token_hash == hashed) | (CscGrant.code_hash == hashed))
    ).first()
    if row is None or row.client_id != client.id or row.revoked_at is not None:
        return
    row.revoked_at, row.sealed_sad = now, None
    session.add(row)
    record_audit(session, at=now, actor=f"client:{client.id}", action="csc.oauth2_revoke",
                 target=row.id)  # fmt: skip
