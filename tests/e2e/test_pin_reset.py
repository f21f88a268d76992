"""Issue 17 item 1: a PIN reset is not a password reset. It needs the second factor, or, for a
citizen without one, a registration officer who sees the citizen in person."""

from __future__ import annotations

import time

from tests.e2e.signing_helpers import make_signers
from tests.support.api import PASSWORD, enrol_otp, staff
from tests.support.server import KysoServer

NEW_PIN = "582046"


def test_the_password_alone_resets_nothing_until_an_officer_sees_the_citizen(
    server: KysoServer,
) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    client, cid = signer.account.client, signer.credential_id
    body = {"password": PASSWORD, "new_pin": NEW_PIN}
    refused = client.post(f"/v1/me/credentials/{cid}/reset", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "credential.reset_needs_officer"
    assert "registration officer" in refused.json()["detail"]
    assert client.get("/v1/me/credentials").json()[0]["status"] == "active"  # nothing made
    again = client.post(f"/v1/me/credentials/{cid}/reset", json=body)
    assert again.json()["code"] == "credential.reset_needs_officer"

    officer = staff(server, "registration_officer")
    waiting = [r for r in officer.client.get("/v1/proofing/resets").json()
               if r["credential_id"] == cid]  # fmt: skip
    assert len(waiting) == 1  # asked twice, queued once
    assert waiting[0]["citizen"]["id"] == signer.account.id
    path = f"/v1/proofing/resets/{waiting[0]['request_id']}"
    by_video = officer.client.post(path, json={"document": "CCCD card", "method": "video_call"})
    assert by_video.status_code == 422  # not in person
    assert (
        client.post(path, json={"document": "CCCD card", "method": "in_person"}).status_code == 403
    )
    approved = officer.client.post(path, json={"document": "CCCD card", "method": "in_person"})
    assert approved.status_code == 200, approved.text

    reset = client.post(f"/v1/me/credentials/{cid}/reset", json=body)
    assert reset.status_code == 201, reset.text
    new_cid = reset.json()["credential_id"]
    once_more = client.post(f"/v1/me/credentials/{new_cid}/reset", json=body)
    assert once_more.json()["code"] == "credential.reset_needs_officer"  # the approval is spent


def test_with_a_second_factor_the_reset_needs_the_code(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    client, cid = signer.account.client, signer.credential_id
    totp = enrol_otp(signer.account)
    path = f"/v1/me/credentials/{cid}/reset"
    without = client.post(path, json={"password": PASSWORD, "new_pin": NEW_PIN})
    assert without.status_code == 400, without.text
    code = totp.at(time.time() + 30)
    done = client.post(path, json={"password": PASSWORD, "otp": code, "new_pin": NEW_PIN})
    assert done.status_code == 201, done.text
