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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError
from sqlmodel import Session, col, select

from certs.keys import KeyAlgorithm, SigningKey
from certs.keystore import KeyStore
from identity.errors import InvalidToken
from identity.models import TokenSigningKey

__all__ = ["ACCESS_ALGORITHMS", "AccessClaims", "TokenPolicy", "TokenSigner"]

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

    def _create_key(self, session: Session, now: datetime) -> TokenSigningKey:
        kid = f"tok-{now:%Y%m%d}-{secrets.token_hex(4)}"
        handle = self._keystore.generate(kid, KeyAlgorithm.ECDSA_P256)
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
            .where(col(TokenSigningKey.retired_at).is_(None))
            .order_by(col(TokenSigningKey.created_at).desc())
        ).first()
        return row if row is not None else self._create_key(session, now)

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
