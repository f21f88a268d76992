"""The OpenID Connect provider's rules, with a fixed clock: code expiry and reuse, PKCE,
pairwise subjects, levels of assurance."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from identity.errors import OidcError, StepUpRequired
from identity.models import User
from identity.oidc import OidcProvider, purge_expired, register_client
from identity.tokens import TokenPolicy, TokenSigner
from tests.identity.conftest import Services

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
VERIFIER = "v" * 50
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)


@pytest.fixture
def provider(services: Services) -> OidcProvider:
    signer = TokenSigner(services.ca.keystore, TokenPolicy(issuer="https://kyso.test"))
    return OidcProvider(tokens=signer, pairwise_key=b"k" * 32, issuer="https://kyso.test")


def _code(
    session: Session,
    provider: OidcProvider,
    user: User,
    *,
    host: str = "dvc.example.vn",
    public: bool = False,
) -> tuple[str, object]:
    client, _ = register_client(
        session,
        name="Cổng",
        redirect_uris=[f"https://{host}/cb"],
        public=public,
        scopes=["openid", "profile"],
        now=NOW,
        actor="t",
    )
    request = provider.begin(
        session,
        {
            "client_id": client.id,
            "redirect_uri": f"https://{host}/cb",
            "response_type": "code",
            "scope": "openid profile",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            "state": "s",
        },
        NOW,
        browser="b",
    )
    provider.signed_in(session, request, user, ["pwd"], NOW)
    location = provider.approve(session, request, NOW)
    return location.split("code=")[1].split("&")[0], client


def test_a_code_expires_after_a_minute_and_is_single_use(
    session: Session, provider: OidcProvider, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    code, client = _code(session, provider, user)
    form = {"code": code, "redirect_uri": "https://dvc.example.vn/cb", "code_verifier": VERIFIER}
    with pytest.raises(OidcError, match="expired"):
        provider.exchange_code(session, client, form, NOW + timedelta(seconds=61))  # type: ignore[arg-type]
    code, client = _code(session, provider, user)
    form["code"] = code
    with pytest.raises(OidcError, match="PKCE"):
        provider.exchange_code(session, client, {**form, "code_verifier": "w" * 50}, NOW)  # type: ignore[arg-type]
    tokens = provider.exchange_code(session, client, form, NOW)  # type: ignore[arg-type]
    assert tokens["token_type"] == "Bearer"
    with pytest.raises(OidcError, match="used already"):
        provider.exchange_code(session, client, form, NOW)  # type: ignore[arg-type]
    with pytest.raises(OidcError):  # the replay also ended the tokens it had given
        provider.userinfo(session, tokens["access_token"], NOW)


def test_pairwise_subjects_differ_between_sectors_and_stay_put_in_one(
    session: Session, provider: OidcProvider, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    _, first = _code(session, provider, user, host="dvc.example.vn")
    _, again = _code(session, provider, user, host="dvc.example.vn")
    _, other = _code(session, provider, user, host="thue.example.vn")
    subjects = [provider.subject(c, user.id) for c in (first, again, other)]  # type: ignore[arg-type]
    assert subjects[0] == subjects[1] != subjects[2]
    assert user.id not in subjects[0]


@pytest.mark.parametrize(
    ("level", "otp_enrolled", "amr", "asked", "outcome"),
    [
        (2, False, ["pwd"], "urn:kyso:loa:2", None),
        (1, False, ["pwd"], "urn:kyso:loa:2", "access_denied"),
        (1, False, ["pwd"], "urn:kyso:loa:1", None),
        (2, True, ["pwd"], "urn:kyso:loa:2:mfa", "step_up"),
        (2, True, ["pwd", "otp"], "urn:kyso:loa:2:mfa", None),
        (2, False, ["pwd"], "urn:kyso:loa:2:mfa", "access_denied"),
    ],
)
def test_levels_of_assurance_are_met_stepped_up_or_refused(
    session: Session,
    provider: OidcProvider,
    make_citizen: Callable[..., User],
    level: int,
    otp_enrolled: bool,
    amr: list[str],
    asked: str,
    outcome: str | None,
) -> None:
    user = make_citizen(verified=level == 2)
    user.totp_enabled = otp_enrolled
    client, _ = register_client(
        session,
        name="Cổng",
        redirect_uris=["https://a.example.vn/cb"],
        public=False,
        scopes=["openid"],
        now=NOW,
        actor="t",
    )
    request = provider.begin(
        session,
        {
            "client_id": client.id,
            "redirect_uri": "https://a.example.vn/cb",
            "response_type": "code",
            "scope": "openid",
            "acr_values": asked,
        },
        NOW,
        browser="b",
    )
    if outcome is None:
        provider.signed_in(session, request, user, amr, NOW)
        assert request.user_id == user.id
    elif outcome == "step_up":
        with pytest.raises(StepUpRequired):
            provider.signed_in(session, request, user, amr, NOW)
    else:
        with pytest.raises(OidcError) as refused:
            provider.signed_in(session, request, user, amr, NOW)
        assert refused.value.error == outcome


def test_a_client_spans_one_host_so_it_cannot_borrow_another_portals_subjects(
    session: Session,
) -> None:
    with pytest.raises(OidcError, match="share one host"):
        register_client(
            session,
            name="Hai mặt",
            public=False,
            scopes=["openid"],
            now=NOW,
            actor="t",
            redirect_uris=["https://dvc.example.vn/cb", "https://evil.example/cb"],
        )


def test_expired_protocol_rows_are_purged_a_day_later(
    session: Session, provider: OidcProvider, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    code, client = _code(session, provider, user)
    form = {"code": code, "redirect_uri": "https://dvc.example.vn/cb", "code_verifier": VERIFIER}
    provider.exchange_code(session, client, form, NOW)  # type: ignore[arg-type]
    assert purge_expired(session, NOW + timedelta(hours=1)) == 0
    assert purge_expired(session, NOW + timedelta(days=2)) >= 2  # the code and the token
