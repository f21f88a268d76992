"""A public-service portal logs a citizen in with kyso: Authlib (a third-party relying-party
library) runs the whole code flow over real HTTP, the tests acting as the citizen's browser."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass

import httpx
import pyotp
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken

from tests.support.api import Account, enrol_otp, proof, register_citizen, staff
from tests.support.server import KysoServer

PORTAL = "https://dichvucong.example.vn/callback"


@dataclass
class Portal:
    client_id: str
    client_secret: str | None
    discovery: dict[str, str]


def _portal(
    server: KysoServer,
    *,
    public: bool = False,
    scopes: str = "openid profile email cccd",
    redirect: str = PORTAL,
    alg: str = "ES256",
) -> Portal:
    args = [
        "admin",
        "oidc-client",
        "add",
        "--name",
        "Cổng dịch vụ công",
        "--redirect-uri",
        redirect,
        "--scopes",
        scopes,
        "--id-token-alg",
        alg,
    ]
    created = json.loads(server.cli(*args, *(["--public"] if public else [])).stdout)
    discovery = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    return Portal(created["client_id"], created.get("client_secret"), discovery)


def _citizen_with_totp(
    server: KysoServer, *, proofed: bool = True, enrol: bool = True
) -> tuple[Account, pyotp.TOTP | None]:
    """A citizen (proofed unless told); with a one-time code app unless told. Each TOTP step
    counts once: a citizen with one signs in once per test."""
    citizen = register_citizen(server)
    if proofed:
        proof(staff(server, "registration_officer"), citizen)
    if not enrol:
        return citizen, None
    return citizen, enrol_otp(citizen)


def _form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(request_id|csrf)" value="([^"]+)"', page))


def _browser_login(url: str, citizen: Account, totp: pyotp.TOTP | None) -> httpx.Response:
    """The citizen's browser: the sign-in page, then the code when asked, then consent."""
    browser = httpx.Client(follow_redirects=False, timeout=30)
    page = browser.get(url)
    assert page.status_code == 200, page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    base = str(page.url).split("/oidc/")[0]
    login = {**_form_fields(page.text), "email": citizen.email, "password": citizen.password}
    answer = browser.post(f"{base}/oidc/login", data=login)
    if 'name="otp"' in answer.text and "required" in answer.text.split('name="otp"')[1][:80]:
        assert totp is not None, answer.text
        answer = browser.post(
            f"{base}/oidc/login",
            data={**login, **_form_fields(answer.text), "otp": totp.at(time.time() + 30)},
        )
    if answer.status_code == 303:  # refused straight back to the portal
        return answer
    assert "SỐ CĂN CƯỚC CÔNG DÂN" in answer.text or "Cho phép" in answer.text, answer.text
    return browser.post(
        f"{base}/oidc/consent", data={**_form_fields(answer.text), "decision": "approve"}
    )


def test_authlib_runs_the_whole_code_flow_with_pkce_totp_consent_and_refresh(
    server: KysoServer,
) -> None:
    portal = _portal(server, scopes="openid profile email cccd offline_access")
    citizen, totp = _citizen_with_totp(server)
    rp = OAuth2Client(
        portal.client_id,
        portal.client_secret,
        scope="openid profile cccd offline_access",
        redirect_uri=PORTAL,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(
        portal.discovery["authorization_endpoint"],
        code_verifier=verifier,
        nonce=nonce,
        acr_values="urn:kyso:loa:2:mfa",
    )
    back = _browser_login(url, citizen, totp)
    assert back.status_code == 303, back.text
    location = back.headers["location"]
    assert location.startswith(PORTAL)
    assert f"state={state}" in location
    token = rp.fetch_token(
        portal.discovery["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    keys = JsonWebKey.import_key_set(httpx.get(portal.discovery["jwks_uri"]).json())
    claims = JsonWebToken(["ES256", "RS256"]).decode(token["id_token"], keys)
    claims.validate()
    assert (claims["iss"], claims["aud"], claims["nonce"]) == (
        portal.discovery["issuer"],
        portal.client_id,
        nonce,
    )
    assert (claims["acr"], claims["amr"]) == ("urn:kyso:loa:2:mfa", ["pwd", "otp"])
    info = rp.get(portal.discovery["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] != citizen.id
    assert (info["name"], info["identity_level"], len(info["cccd"])) == ("Nguyễn Thị Mai", 2, 12)
    assert "email" not in info, "email was not asked for"
    refreshed = rp.refresh_token(
        portal.discovery["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["access_token"] != token["access_token"]
    assert rp.get(portal.discovery["userinfo_endpoint"]).json()["sub"] == info["sub"]
    reused = httpx.post(
        portal.discovery["token_endpoint"],
        auth=(portal.client_id, portal.client_secret or ""),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    logout = httpx.get(
        portal.discovery["end_session_endpoint"],
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": PORTAL,
            "state": "bye",
        },
    )
    assert logout.status_code == 303
    assert logout.headers["location"] == f"{PORTAL}?state=bye"
    after = rp.get(portal.discovery["userinfo_endpoint"])
    assert after.status_code == 401, "logout ended the portal's tokens"


def test_rs256_id_tokens_for_clients_that_ask(server: KysoServer) -> None:
    portal = _portal(server, public=True, scopes="openid profile", alg="RS256")
    citizen, totp = _citizen_with_totp(server)
    rp = OAuth2Client(
        portal.client_id,
        None,
        scope="openid profile",
        redirect_uri=PORTAL,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(48)
    url, _ = rp.create_authorization_url(
        portal.discovery["authorization_endpoint"], code_verifier=verifier, nonce="n"
    )
    location = _browser_login(url, citizen, totp).headers["location"]
    token = rp.fetch_token(
        portal.discovery["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    keys = JsonWebKey.import_key_set(httpx.get(portal.discovery["jwks_uri"]).json())
    header = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    JsonWebToken(["RS256"]).decode(token["id_token"], keys).validate()


def test_pairwise_subjects_differ_between_portals(server: KysoServer) -> None:
    citizen, totp = _citizen_with_totp(server, enrol=False)
    subjects = []
    for redirect in (PORTAL, "https://thue.example.vn/cb", PORTAL):
        portal = _portal(server, redirect=redirect, scopes="openid")
        rp, url, verifier = _start(portal, "openid", redirect)
        location = _browser_login(url, citizen, totp).headers["location"]
        token = rp.fetch_token(
            portal.discovery["token_endpoint"],
            authorization_response=location,
            code_verifier=verifier,
        )
        subjects.append(
            JsonWebToken(["ES256"]).decode(
                token["id_token"],
                JsonWebKey.import_key_set(httpx.get(portal.discovery["jwks_uri"]).json()),
            )["sub"]
        )
    assert subjects[0] != subjects[1], "two sectors could link the citizen"
    assert subjects[0] == subjects[2], "the same sector sees the same subject"


@pytest.mark.parametrize("case", ["redirect_off_by_one", "unregistered_client"])
def test_bad_authorization_requests_get_an_error_page_not_a_redirect(
    server: KysoServer, case: str
) -> None:
    portal = _portal(server)
    params = {
        "client_id": portal.client_id,
        "redirect_uri": PORTAL,
        "response_type": "code",
        "scope": "openid",
        "state": "s",
    }
    if case == "redirect_off_by_one":
        params["redirect_uri"] = PORTAL + "x"
    else:
        params["client_id"] = "kyso-" + secrets.token_hex(8)
    page = httpx.get(portal.discovery["authorization_endpoint"], params=params)
    assert page.status_code == 400
    assert "location" not in page.headers


def test_reused_code_and_wrong_verifier_are_refused(server: KysoServer) -> None:
    portal = _portal(server, scopes="openid")
    citizen, totp = _citizen_with_totp(server, enrol=False)
    for wrong_verifier in (False, True):
        _, url, verifier = _start(portal, "openid")
        location = _browser_login(url, citizen, totp).headers["location"]
        code = location.split("code=")[1].split("&")[0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": PORTAL,
            "code_verifier": generate_token(48) if wrong_verifier else verifier,
        }
        auth = (portal.client_id, portal.client_secret or "")
        first = httpx.post(portal.discovery["token_endpoint"], auth=auth, data=form)
        if wrong_verifier:
            assert (first.status_code, first.json()["error"]) == (400, "invalid_grant")
            continue
        assert first.status_code == 200, first.text
        second = httpx.post(portal.discovery["token_endpoint"], auth=auth, data=form)
        assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")
    wrong_secret = httpx.post(
        portal.discovery["token_endpoint"],
        auth=(portal.client_id, "x"),
        data={"grant_type": "authorization_code", "code": "x"},
    )
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")


def test_a_level_one_citizen_asked_for_level_two_is_refused_back_to_the_portal(
    server: KysoServer,
) -> None:
    portal = _portal(server, scopes="openid")
    citizen, totp = _citizen_with_totp(server, proofed=False)
    rp = OAuth2Client(
        portal.client_id,
        portal.client_secret,
        scope="openid",
        redirect_uri=PORTAL,
        code_challenge_method="S256",
    )
    url, state = rp.create_authorization_url(
        portal.discovery["authorization_endpoint"],
        code_verifier=generate_token(48),
        acr_values="urn:kyso:loa:2",
    )
    back = _browser_login(url, citizen, totp)
    assert back.status_code == 303
    assert back.headers["location"].startswith(f"{PORTAL}?error=access_denied")
    assert f"state={state}" in back.headers["location"]


def _start(portal: Portal, scope: str, redirect: str = PORTAL) -> tuple[OAuth2Client, str, str]:
    """A relying party at the start of a code flow with PKCE: (client, URL, verifier)."""
    rp = OAuth2Client(
        portal.client_id,
        portal.client_secret,
        scope=scope,
        redirect_uri=redirect,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, _ = rp.create_authorization_url(
        portal.discovery["authorization_endpoint"], code_verifier=verifier
    )
    return rp, url, verifier


def _begin(portal: Portal, browser: httpx.Client, **extra: str) -> httpx.Response:
    params = {
        "client_id": portal.client_id,
        "redirect_uri": PORTAL,
        "response_type": "code",
        "scope": "openid",
        "state": "s",
        **extra,
    }
    return browser.get(portal.discovery["authorization_endpoint"], params=params)


def test_a_sign_in_form_works_only_in_the_browser_that_began_it(server: KysoServer) -> None:
    portal = _portal(server, scopes="openid")
    victim, _ = _citizen_with_totp(server, enrol=False)
    attacker = httpx.Client(follow_redirects=False, timeout=30)
    fields = _form_fields(_begin(portal, attacker).text)  # read server-side by an attacker
    victims_browser = httpx.Client(follow_redirects=False, timeout=30)  # no cookie of that request
    forged = victims_browser.post(
        f"{server.url}/oidc/login",
        data={**fields, "email": victim.email, "password": victim.password},
    )
    assert forged.status_code == 400, "a form posted from another browser was accepted"
    signed = attacker.post(
        f"{server.url}/oidc/login",
        data={**fields, "email": victim.email, "password": victim.password},
    )
    again = attacker.post(
        f"{server.url}/oidc/login",
        data={**fields, "email": victim.email, "password": victim.password},
    )
    assert signed.status_code == 200
    assert again.status_code == 400, "a second sign-in on the same request was accepted"
    stale = attacker.post(f"{server.url}/oidc/consent", data={**fields, "decision": "approve"})
    assert stale.status_code == 400, "the sign-in form's token approved the consent"


def test_replays_revoke_and_refresh_tokens_need_offline_access(server: KysoServer) -> None:
    portal = _portal(server, scopes="openid offline_access")
    citizen, _ = _citizen_with_totp(server, enrol=False)
    auth = (portal.client_id, portal.client_secret or "")
    endpoint = portal.discovery["token_endpoint"]

    def code_for(scope: str, verifier: str | None) -> str:
        rp = OAuth2Client(
            portal.client_id,
            portal.client_secret,
            scope=scope,
            redirect_uri=PORTAL,
            code_challenge_method="S256" if verifier else None,
        )
        url, _ = rp.create_authorization_url(
            portal.discovery["authorization_endpoint"], code_verifier=verifier
        )
        location = _browser_login(url, citizen, None).headers["location"]
        return location.split("code=")[1].split("&")[0]

    without = httpx.post(
        endpoint,
        auth=auth,
        data={
            "grant_type": "authorization_code",
            "code": code_for("openid", None),
            "redirect_uri": PORTAL,
        },
    ).json()
    assert "refresh_token" not in without, "a refresh token without offline_access"
    downgrade = httpx.post(
        endpoint,
        auth=auth,
        data={
            "grant_type": "authorization_code",
            "code": code_for("openid", None),
            "redirect_uri": PORTAL,
            "code_verifier": generate_token(48),
        },
    )
    assert (downgrade.status_code, downgrade.json()["error"]) == (400, "invalid_grant")
    verifier = generate_token(48)
    code = code_for("openid offline_access", verifier)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": PORTAL,
        "code_verifier": verifier,
    }
    first = httpx.post(endpoint, auth=auth, data=form).json()
    replay = httpx.post(endpoint, auth=auth, data=form)
    assert replay.json()["error"] == "invalid_grant"
    userinfo = portal.discovery["userinfo_endpoint"]
    dead = httpx.get(userinfo, headers={"Authorization": f"Bearer {first['access_token']}"})
    assert dead.status_code == 401, "a replayed code left its tokens alive"
    verifier = generate_token(48)
    tokens = httpx.post(
        endpoint,
        auth=auth,
        data={
            **form,
            "code": code_for("openid offline_access", verifier),
            "code_verifier": verifier,
        },
    ).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    successor = httpx.post(endpoint, auth=auth, data=refresh).json()
    stolen = httpx.post(endpoint, auth=auth, data=refresh)
    assert stolen.json()["error"] == "invalid_grant"
    after = httpx.post(
        endpoint,
        auth=auth,
        data={"grant_type": "refresh_token", "refresh_token": successor["refresh_token"]},
    )
    assert after.json()["error"] == "invalid_grant", "reuse did not end the token's family"


def test_prompt_none_goes_back_with_login_required(server: KysoServer) -> None:
    portal = _portal(server, scopes="openid")
    answer = _begin(portal, httpx.Client(follow_redirects=False), prompt="none")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{PORTAL}?error=login_required")
