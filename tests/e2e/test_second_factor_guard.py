"""Issue 17 item 3: the second factor is guarded. Enrolling, disabling or replacing it needs the
password again (and the current code when one exists), and is refused to API keys: a stolen
access token or a key cannot lock the owner out."""

from __future__ import annotations

import time

import httpx

from tests.support.api import PASSWORD, enrol_otp, register_citizen, staff
from tests.support.server import KysoServer


def test_a_stolen_token_cannot_enrol_a_second_factor(server: KysoServer) -> None:
    citizen = register_citizen(server)
    thief = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {citizen.access_token}"}
    )
    assert thief.post("/v1/me/otp/enrol").status_code == 422  # the password is asked for
    wrong = thief.post("/v1/me/otp/enrol", json={"password": "đoán thử mật khẩu"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "auth.invalid_credentials"
    assert thief.get("/v1/me").json()["otp_enabled"] is False
    assert citizen.login().status_code == 200  # the owner signs in as before, no code asked


def test_an_api_key_cannot_touch_its_owners_second_factor(server: KysoServer) -> None:
    organisation = f"Sở Nội vụ {time.time_ns()}"
    server.cli("admin", "create-organisation", "--name", organisation, "--kind", "agency")
    officer = staff(server, "agency_officer", organisation=organisation)
    key = officer.client.post("/v1/api-keys", json={"name": "một cửa", "roles": ["agency_officer"]})
    system = httpx.Client(base_url=server.url, headers={"X-API-Key": key.json()["key"]})
    for path, body in (("/v1/me/otp/enrol", {"password": PASSWORD}),
                       ("/v1/me/otp/confirm", {"code": "123456"}),
                       ("/v1/me/otp/disable", {"password": PASSWORD, "otp": "123456"})):  # fmt: skip
        refused = system.post(path, json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "auth.forbidden"


def test_replacing_or_disabling_needs_the_password_and_a_current_code(server: KysoServer) -> None:
    citizen = register_citizen(server)
    totp = enrol_otp(citizen)
    again = citizen.client.post("/v1/me/otp/enrol", json={"password": PASSWORD})
    assert again.status_code == 400  # the current code is asked for
    code = totp.at(time.time() + 30)
    replaced = citizen.client.post("/v1/me/otp/enrol", json={"password": PASSWORD, "otp": code})
    assert replaced.status_code == 409  # disable first
    without_code = citizen.client.post("/v1/me/otp/disable", json={"password": PASSWORD, "otp": ""})
    assert without_code.status_code == 400
    assert citizen.client.get("/v1/me").json()["otp_enabled"] is True
    code = totp.at(time.time() + 30)  # refused above, so never spent
    disabled = citizen.client.post("/v1/me/otp/disable", json={"password": PASSWORD, "otp": code})
    assert disabled.status_code == 204, disabled.text
    assert citizen.client.get("/v1/me").json()["otp_enabled"] is False
    assert citizen.login().status_code == 200
