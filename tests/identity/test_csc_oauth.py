"""CSC v2 OAuth 2.0's rules, with a fixed clock: the two ways to name the hashes (the
``hashes`` parameter, base64url and comma separated, and ``authorization_details``), PKCE
required, the code's single use and lifetime, and the SAD opened only with the token."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from identity.csc_oauth import bearer, exchange, grant, read_request
from identity.errors import OidcError
from identity.models import CscGrant, OidcClient, User
from identity.oidc import register_client

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PORTAL = "https://dvc.example.vn/cb"
VERIFIER = "v" * 50
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
CREDENTIAL = "0b6c2c3e-7d1a-4e1b-9a53-1b2f7c8d9e0f"
DIGESTS = [hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()]


def _client(session: Session, scopes: list[str]) -> OidcClient:
    client, _ = register_client(session, name="Cổng", redirect_uris=[PORTAL], public=False,
                                scopes=scopes, now=NOW, actor="t")  # fmt: skip
    return client


def _params(client: OidcClient, **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": client.id, "redirect_uri": PORTAL,
            "code_challenge": CHALLENGE, "code_challenge_method": "S256", **extra}  # fmt: skip


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_hashes_are_named_as_parameters_or_as_authorization_details(session: Session) -> None:
    client = _client(session, ["openid", "credential"])
    plain = read_request(session, _params(
        client, scope="credential", credentialID=CREDENTIAL, numSignatures="2",
        hashes=",".join(_b64url(d) for d in DIGESTS), hashAlgorithmOID="2.16.840.1.101.3.4.2.1",
    ))  # fmt: skip
    details = [{"type": "credential", "credentialID": CREDENTIAL,
                "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                "documentDigests": [{"hash": base64.b64encode(d).decode(), "label": "tờ khai"}
                                    for d in DIGESTS]}]  # fmt: skip
    rich = read_request(session, _params(client, authorization_details=json.dumps(details)))
    assert plain.hashes == rich.hashes == tuple(DIGESTS)
    assert plain.scope == rich.scope == "credential"
    assert plain.credential_id == rich.credential_id == CREDENTIAL


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"numSignatures": "3"}, "invalid_request"),
        ({"hashAlgorithmOID": "1.3.14.3.2.26"}, "invalid_request"),
        ({"hashes": "bm90IGEgaGFzaA"}, "invalid_request"),
        ({"scope": "service"}, "invalid_scope"),  # not given to this portal
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"authorization_details": '[{"type": "payment"}]'}, "invalid_request"),
    ],
)
def test_wrong_requests_are_told_to_the_portal(
    session: Session, change: dict[str, str], error: str
) -> None:
    client = _client(session, ["openid", "credential"])
    params = _params(client, scope="credential", credentialID=CREDENTIAL, numSignatures="2",
                     hashes=",".join(_b64url(d) for d in DIGESTS),
                     hashAlgorithmOID="2.16.840.1.101.3.4.2.1") | change  # fmt: skip
    with pytest.raises(OidcError) as refused:
        read_request(session, params)
    assert (refused.value.error, refused.value.redirect) == (error, True)


def test_a_portal_without_csc_scopes_or_an_unregistered_one_is_never_redirected_to(
    session: Session,
) -> None:
    plain = _client(session, ["openid", "profile"])
    for client_id in (plain.id, "kyso-nobody"):
        with pytest.raises(OidcError) as refused:
            read_request(session, {**_params(plain, scope="service"), "client_id": client_id})
        assert refused.value.redirect is False


def test_the_sad_opens_only_with_the_token_and_the_code_once_within_a_minute(
    session: Session, make_citizen: Callable[..., User]
) -> None:
    citizen = make_citizen()
    client = _client(session, ["openid", "credential"])
    request = read_request(session, _params(
        client, scope="credential", credentialID=CREDENTIAL, numSignatures="1",
        hashes=_b64url(DIGESTS[0]), hashAlgorithmOID="2.16.840.1.101.3.4.2.1",
    ))  # fmt: skip
    location = grant(session, request, user_id=citizen.id, sad="id.secret",
                     sad_expires_at=NOW + timedelta(minutes=5), now=NOW)  # fmt: skip
    code = location.split("code=")[1].split("&")[0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": PORTAL,
            "code_verifier": VERIFIER}  # fmt: skip
    with pytest.raises(OidcError, match="expired"):
        exchange(session, client, form, NOW + timedelta(seconds=61))
    token = exchange(session, client, form, NOW + timedelta(seconds=30))
    found = bearer(session, token["access_token"], NOW)
    assert found is not None
    row = session.get(CscGrant, found.grant_id)
    assert row is not None
    assert b"id.secret" not in (row.sealed_sad or b"")  # kept sealed, never in clear
    assert (found.sad, found.hashes) == ("id.secret", (DIGESTS[0].hex(),))
    assert bearer(session, token["access_token"] + "x", NOW) is None
    assert bearer(session, token["access_token"], NOW + timedelta(minutes=6)) is None
    with pytest.raises(OidcError, match="used already"):
        exchange(session, client, form, NOW + timedelta(seconds=40))
