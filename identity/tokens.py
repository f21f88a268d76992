"""JWT access tokens (python-jose, ES256, ``kid``), signed by keys kept in the key store.

python-jose stays inside this module: every call passes an explicit algorithm list, keys are
asymmetric and looked up by ``kid`` among our own, so the library could be swapped here alone.
"""

from __future__ import annotations

import base64
import calendar
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError
from sqlmodel import Session, col, select

from certs.keys import KeyAlgorithm, SigningKey
from certs.keystore import KeyStore
from identity.audit import record_key_generation
from identity.errors import InvalidToken, OidcError
from identity.models import TokenSigningKey

__all__ = [
    "ACCESS_ALGORITHMS",
    "AccessClaims",
    "TokenPolicy",
    "TokenSigner",
    "epoch",
    "verify_client_assertion",
    "verify_own_jwt",
]

ACCESS_ALGORITHMS = ["ES256"]
"""The only algorithms an access token may name."""


@dataclass(frozen=True)
class TokenPolicy:
    """Issuer, audience and lifetimes of access and refresh tokens."""

    issuer: str
    """``iss``: the service's public URL."""
    audience: str = "kyso-api"
    access_ttl: timedelta = timedelta(minutes=10)
    refresh_ttl: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says."""

    subject: str
    role: str
    identity_level: int
    amr: tuple[str, ...]
    expires_at: int
    token_id: str


class _KeyStoreJwk(Key):  # type: ignore[misc]
    """A python-jose key that signs through a key-store handle (JWS wants raw r||s)."""

    def __init__(self, handle: SigningKey) -> None:
        self._handle = handle

    def sign(self, msg: bytes) -> bytes:
        r, s = decode_dss_signature(self._handle.sign(msg))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class _KeyStoreRsa(Key):  # type: ignore[misc]
    """A python-jose key that signs RS256 through a key-store handle (PKCS#1 v1.5, SHA-256)."""

    def __init__(self, handle: SigningKey) -> None:
        self._handle = handle

    def sign(self, msg: bytes) -> bytes:
        return self._handle.sign(msg)


def _public_jwk(handle: SigningKey, kid: str) -> dict[str, str]:
    public_key = handle.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    numbers = public_key.public_numbers()
    as_jwk: dict[str, str] = jwk.construct(
        {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        },
        "ES256",
    ).to_dict()
    as_jwk.update({"kid": kid, "alg": "ES256", "use": "sig"})
    return as_jwk


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenSigner:
    """Issues and verifies access tokens; keys rotate and the previous one verifies until its
    last token expires. Keys are read from the database, so every process agrees."""

    def __init__(self, keystore: KeyStore, policy: TokenPolicy) -> None:
        self._keystore = keystore
        self.policy = policy
        self._handles: dict[str, SigningKey] = {}
        self._lock = threading.Lock()

    def _handle(self, row: TokenSigningKey) -> SigningKey:
        with self._lock:
            handle = self._handles.get(row.kid)
            if handle is None:
                handle = self._handles[row.kid] = self._keystore.load(row.key_id)
            return handle

    def _generate(
        self, session: Session, kid: str, algorithm: KeyAlgorithm, now: datetime
    ) -> SigningKey:
        """A token-signing key made in the key store (in the token, with PKCS#11), audited."""
        handle = self._keystore.generate(kid, algorithm)
        record_key_generation(
            session,
            at=now,
            actor="system:tokens",
            key_id=handle.key_id,
            purpose="token-signing key",
            algorithm=algorithm.value,
            key_store=self._keystore.kind,
        )
        return handle

    def _create_key(self, session: Session, now: datetime) -> TokenSigningKey:
        kid = f"tok-{now:%Y%m%d}-{secrets.token_hex(4)}"
        handle = self._generate(session, kid, KeyAlgorithm.ECDSA_P256, now)
        row = TokenSigningKey(
            kid=kid,
            key_id=handle.key_id,
            algorithm="ES256",
            public_jwk=json.dumps(_public_jwk(handle, kid)),
            created_at=now,
        )
        session.add(row)
        session.flush()
        return row

    def current_key(self, session: Session, now: datetime) -> TokenSigningKey:
        """The key that signs now; the first one is made on demand."""
        row = session.exec(
            select(TokenSigningKey)
            .where(col(TokenSigningKey.retired_at).is_(None), TokenSigningKey.algorithm == "ES256")
            .order_by(col(TokenSigningKey.created_at).desc())
        ).first()
        return row if row is not None else self._create_key(session, now)

    def current_rsa_key(self, session: Session, now: datetime) -> TokenSigningKey:
        """The RS256 key for ID tokens of clients that ask for RS256 (OpenID Connect Core
        requires providers to offer it); made on demand, rotated with the others."""
        row = session.exec(
            select(TokenSigningKey)
            .where(col(TokenSigningKey.retired_at).is_(None), TokenSigningKey.algorithm == "RS256")
            .order_by(col(TokenSigningKey.created_at).desc())
        ).first()
        if row is not None:
            return row
        kid = f"rsa-{now:%Y%m%d}-{secrets.token_hex(4)}"
        handle = self._generate(session, kid, KeyAlgorithm.RSA_3072, now)
        public = handle.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        numbers = public.public_numbers()
        as_jwk = {
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }
        row = TokenSigningKey(
            kid=kid,
            key_id=handle.key_id,
            algorithm="RS256",
            public_jwk=json.dumps(as_jwk),
            created_at=now,
        )
        session.add(row)
        session.flush()
        return row

    def sign_claims(
        self, session: Session, claims: dict[str, Any], *, algorithm: str, now: datetime
    ) -> str:
        """A JWS of ``claims`` (an ID token) with the current key of ``algorithm``
        (``ES256`` or ``RS256``)."""
        if algorithm == "RS256":
            row = self.current_rsa_key(session, now)
            key: Key = _KeyStoreRsa(self._handle(row))
        elif algorithm == "ES256":
            row = self.current_key(session, now)
            key = _KeyStoreJwk(self._handle(row))
        else:
            raise ValueError(f"ID tokens are ES256 or RS256, not {algorithm}")
        token: str = jws.sign(claims, key, headers={"kid": row.kid}, algorithm=algorithm)
        return token

    def rotate(self, session: Session, now: datetime) -> TokenSigningKey:
        """A new signing key; the old ones stop signing and verify until their tokens expire."""
        for row in session.exec(
            select(TokenSigningKey).where(col(TokenSigningKey.retired_at).is_(None))
        ):
            row.retired_at = now
            row.verify_until = now + self.policy.access_ttl
            session.add(row)
        return self._create_key(session, now)

    def verification_keys(self, session: Session, now: datetime) -> dict[str, dict[str, str]]:
        """The public JWKs that verify tokens now, by kid (the JWKS document's content)."""
        rows = session.exec(select(TokenSigningKey)).all()
        return {
            row.kid: json.loads(row.public_jwk)
            for row in rows
            if row.verify_until is None or row.verify_until > now
        }

    def issue(
        self,
        session: Session,
        *,
        subject: str,
        role: str,
        identity_level: int,
        amr: list[str],
        now: datetime,
    ) -> str:
        row = self.current_key(session, now)
        claims: dict[str, Any] = {
            "iss": self.policy.issuer,
            "aud": self.policy.audience,
            "sub": subject,
            "iat": calendar.timegm(now.utctimetuple()),
            "nbf": calendar.timegm(now.utctimetuple()),
            "exp": calendar.timegm((now + self.policy.access_ttl).utctimetuple()),
            "jti": secrets.token_urlsafe(12),
            "role": role,
            "lvl": identity_level,
            "amr": amr,
        }
        token: str = jws.sign(
            claims, _KeyStoreJwk(self._handle(row)), headers={"kid": row.kid}, algorithm="ES256"
        )
        return token

    def verify(self, session: Session, token: str, now: datetime) -> AccessClaims:
        """The claims of a token we issued that is still valid; ``InvalidToken`` otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            raise InvalidToken("the token is not a JWT") from None
        kid = header.get("kid")
        if header.get("alg") not in ACCESS_ALGORITHMS or not isinstance(kid, str):
            raise InvalidToken("the token's algorithm or key id is not ours")
        key = self.verification_keys(session, now).get(kid)
        if key is None:
            raise InvalidToken("the token was signed by an unknown or expired key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ACCESS_ALGORITHMS,
                audience=self.policy.audience,
                issuer=self.policy.issuer,
                options={"require_exp": True, "require_iat": True, "require_sub": True},
            )
        except JOSEError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        try:
            return AccessClaims(
                subject=str(claims["sub"]),
                role=str(claims["role"]),
                identity_level=int(claims["lvl"]),
                amr=tuple(claims.get("amr", ())),
                expires_at=int(claims["exp"]),
                token_id=str(claims["jti"]),
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidToken("the token lacks kyso's claims") from None


def epoch(moment: datetime) -> int:
    """Seconds since 1970 (JWT NumericDate)."""
    return calendar.timegm(moment.utctimetuple())


CLIENT_ASSERTION_ALGORITHMS = ["RS256", "ES256"]


def verify_client_assertion(
    token: str,
    jwks_for: Callable[[str], dict[str, Any] | None],
    *,
    audience: str,
    now: datetime,
) -> dict[str, Any]:
    """A private_key_jwt client assertion (RFC 7523): signed by a key the client registered,
    ``iss`` = ``sub`` = the client, for our token endpoint, unexpired, with a ``jti``."""
    try:
        unverified = jwt.get_unverified_claims(token)
        header = jwt.get_unverified_header(token)
    except JOSEError:
        raise OidcError("invalid_client", "the client assertion is not a JWT") from None
    client_id = unverified.get("sub")
    if header.get("alg") not in CLIENT_ASSERTION_ALGORITHMS or not isinstance(client_id, str):
        raise OidcError("invalid_client", "the client assertion is not acceptable")
    jwks = jwks_for(client_id)
    if not jwks:
        raise OidcError("invalid_client", "this client registered no keys")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            jwks,
            algorithms=CLIENT_ASSERTION_ALGORITHMS,
            audience=audience,
            issuer=client_id,
            options={
                "require_exp": True,
                "require_sub": True,
                "require_jti": True,
                "require_aud": True,
                "require_iss": True,
                "leeway": 30,
            },
        )
    except JOSEError as exc:
        raise OidcError("invalid_client", f"the client assertion is not valid: {exc}") from None
    if claims.get("exp", 0) > epoch(now) + 600:
        raise OidcError("invalid_client", "the client assertion lives too long")
    return claims


def verify_own_jwt(
    session: Session, signer: TokenSigner, token: str, *, issuer: str, now: datetime
) -> dict[str, Any]:
    """A JWT we signed (an ID token given back as a hint): signature and issuer checked, its
    expiry and audience not (a logout hint may be old)."""
    try:
        header = jwt.get_unverified_header(token)
        key = signer.verification_keys(session, now).get(str(header.get("kid")))
        if key is None or header.get("alg") not in ("ES256", "RS256"):
            raise OidcError("invalid_request", "the ID token hint is not ours", redirect=False)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[str(key.get("alg"))],
            issuer=issuer,
            options={"verify_aud": False, "verify_exp": False},
        )
    except JOSEError:
        raise OidcError(
            "invalid_request", "the ID token hint is not valid", redirect=False
        ) from None
    return claims
