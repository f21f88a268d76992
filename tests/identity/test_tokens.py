"""Access tokens: what they carry, key rotation, and the attacks on JWTs that must fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt
from sqlmodel import Session

from identity.errors import InvalidToken
from identity.tokens import TokenPolicy, TokenSigner
from tests.identity.conftest import Services

POLICY = TokenPolicy(issuer="http://kyso.test")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    decode = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


def _forge(header: dict[str, object], payload: dict[str, object], signature: bytes) -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(payload).encode())
    return f"{head}.{body}.{_b64(signature)}"


@pytest.fixture
def signer(services: Services) -> TokenSigner:
    return TokenSigner(services.ca.keystore, POLICY)


def _issue(signer: TokenSigner, session: Session, now: datetime | None = None) -> str:
    return signer.issue(session, subject="user-1", role="citizen", identity_level=2, amr=["pwd"],
                        now=now or datetime.now(UTC))  # fmt: skip


def test_token_carries_kid_and_claims_and_verifies(signer: TokenSigner, session: Session) -> None:
    token = _issue(signer, session)
    header, payload, _ = _parts(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == signer.current_key(session, datetime.now(UTC)).kid
    assert payload["iss"] == POLICY.issuer
    assert payload["aud"] == POLICY.audience
    assert payload["exp"] - payload["iat"] == POLICY.access_ttl.total_seconds()  # type: ignore[operator]
    claims = signer.verify(session, token, datetime.now(UTC))
    assert (claims.subject, claims.role, claims.identity_level, claims.amr) == (
        "user-1",
        "citizen",
        2,
        ("pwd",),
    )


def test_alg_none_is_rejected(signer: TokenSigner, session: Session) -> None:
    header, payload, _ = _parts(_issue(signer, session))
    forged = _forge({**header, "alg": "none"}, {**payload, "role": "admin"}, b"")
    with pytest.raises(InvalidToken):
        signer.verify(session, forged, datetime.now(UTC))
    with pytest.raises(InvalidToken):
        signer.verify(session, forged.rsplit(".", 1)[0] + ".", datetime.now(UTC))


def test_hs256_signed_with_the_public_key_is_rejected(
    signer: TokenSigner, session: Session
) -> None:
    token = _issue(signer, session)
    header, payload, _ = _parts(token)
    public_jwk = signer.verification_keys(session, datetime.now(UTC))[str(header["kid"])]
    for secret in (json.dumps(public_jwk).encode(), public_jwk["x"].encode()):
        head = _b64(json.dumps({**header, "alg": "HS256"}).encode())
        body = _b64(json.dumps({**payload, "role": "admin"}).encode())
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken):
            signer.verify(session, f"{head}.{body}.{_b64(mac)}", datetime.now(UTC))


def test_expired_token_is_rejected(signer: TokenSigner, session: Session) -> None:
    token = _issue(signer, session, datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(session, token, datetime.now(UTC))


def test_wrong_audience_and_wrong_issuer_are_rejected(services: Services, session: Session) -> None:
    ours = TokenSigner(services.ca.keystore, POLICY)
    ours.current_key(session, datetime.now(UTC))
    for other in (TokenPolicy(issuer=POLICY.issuer, audience="another-service"),
                  TokenPolicy(issuer="http://elsewhere.test")):  # fmt: skip
        token = _issue(TokenSigner(services.ca.keystore, other), session)
        with pytest.raises(InvalidToken):
            ours.verify(session, token, datetime.now(UTC))


def test_unknown_kid_is_rejected(signer: TokenSigner, session: Session) -> None:
    header, payload, signature = _parts(_issue(signer, session))
    relabelled = _forge(
        {**header, "kid": "tok-unknown"}, payload, base64.urlsafe_b64decode(signature + "==")
    )
    with pytest.raises(InvalidToken, match="unknown"):
        signer.verify(session, relabelled, datetime.now(UTC))
    foreign_key = ec.generate_private_key(ec.SECP256R1())
    foreign = jwt.encode(payload, foreign_key, algorithm="ES256", headers={"kid": "attacker"})
    with pytest.raises(InvalidToken):
        signer.verify(session, foreign, datetime.now(UTC))


def test_tampered_claims_are_rejected(signer: TokenSigner, session: Session) -> None:
    header, payload, signature = _parts(_issue(signer, session))
    tampered = _forge(
        header, {**payload, "role": "admin", "lvl": 2}, base64.urlsafe_b64decode(signature + "==")
    )
    with pytest.raises(InvalidToken):
        signer.verify(session, tampered, datetime.now(UTC))


def test_garbage_is_rejected(signer: TokenSigner, session: Session) -> None:
    for garbage in ("", "abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30."):
        with pytest.raises(InvalidToken):
            signer.verify(session, garbage, datetime.now(UTC))


def test_rotation_keeps_old_tokens_valid_until_they_expire(
    signer: TokenSigner, session: Session
) -> None:
    now = datetime.now(UTC)
    old_token = _issue(signer, session, now)
    old_kid = _parts(old_token)[0]["kid"]
    new_key = signer.rotate(session, now)
    new_token = _issue(signer, session, now)

    assert _parts(new_token)[0]["kid"] == new_key.kid != old_kid
    assert signer.verify(session, old_token, now).subject == "user-1"
    assert signer.verify(session, new_token, now).subject == "user-1"
    later = now + POLICY.access_ttl + timedelta(seconds=1)
    assert old_kid not in signer.verification_keys(session, later)
    assert new_key.kid in signer.verification_keys(session, later)
