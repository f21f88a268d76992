"""A citizen's way from registration to a certificate under sole control, over real HTTP."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pyotp

from tests.support.api import PASSWORD, Account, proof, register_citizen, staff
from tests.support.pki import PkiFiles, openssl
from tests.support.server import KysoServer

PIN = "402917"


def test_register_proof_and_get_a_certificate(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    citizen = register_citizen(server)
    me = citizen.client.get("/v1/me").json()
    assert (me["role"], me["identity_level"], me["phone"]) == ("citizen", 1, "+84912345678")

    refused = citizen.client.post("/v1/me/certificate", json={"pin": PIN})
    assert refused.status_code == 403
    assert refused.json()["code"] == "identity.level_too_low"

    officer = staff(server, "registration_officer")
    queue = officer.client.get("/v1/proofing/queue").json()
    assert citizen.id in [entry["id"] for entry in queue]
    assert proof(officer, citizen)["identity_level"] == 2
    assert citizen.id not in [e["id"] for e in officer.client.get("/v1/proofing/queue").json()]
    assert citizen.client.get("/v1/me").json()["identity_level"] == 2

    issued = citizen.client.post("/v1/me/certificate", json={"pin": PIN})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert set(body) >= {"serial", "certificate", "credential_id", "puk"}
    cert = workdir / "citizen.pem"
    cert.write_text(body["certificate"])
    verified = openssl(
        "verify", "-CAfile", str(pki.root), "-untrusted", str(pki.issuing), str(cert)
    )
    assert verified.stdout.decode().strip().endswith("OK")
    subject = openssl(
        "x509", "-in", str(cert), "-noout", "-subject", "-nameopt", "utf8"
    ).stdout.decode()
    assert f"CCCD:{me['cccd']}" in subject
    assert "Nguyễn Thị Mai" in subject
    assert int(body["serial"], 16) == int(
        openssl("x509", "-in", str(cert), "-noout", "-serial").stdout.decode().split("=")[1], 16
    )

    again = citizen.client.post("/v1/me/certificate", json={"pin": PIN})
    assert again.status_code == 409


def test_registration_errors_name_each_field(server: KysoServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/auth/register",
        json={
            "full_name": "Trần Văn 3",
            "cccd": "001290012345",  # 21st-century code for a man born in 1990
            "date_of_birth": "1990-05-17",
            "gender": "male",
            "email": "not-an-email",
            "phone": "12345",
            "password": "short",
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"full_name", "cccd", "email", "phone", "password"}
    assert "4th digit" in fields["cccd"]


def test_second_factor_enrolment_login_replay_and_recovery(server: KysoServer) -> None:
    citizen = register_citizen(server)
    enrolment = citizen.client.post("/v1/me/otp/enrol", json={"password": PASSWORD}).json()
    totp = pyotp.TOTP(enrolment["secret"])
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/")
    confirmed = citizen.client.post("/v1/me/otp/confirm", json={"code": totp.now()})
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10

    without = citizen.login()
    assert without.status_code == 400
    assert without.json()["code"] == "auth.otp_required"

    code = totp.at(time.time() + 30)  # next step: unused by the confirmation
    assert citizen.login(otp=code).status_code == 200
    assert citizen.client.get("/v1/me").json()["authenticated_with"] == ["pwd", "otp"]
    replay = citizen.login(otp=code)
    assert replay.status_code == 400
    assert replay.json()["code"] == "auth.invalid_credentials"

    assert citizen.login(otp=recovery[0]).status_code == 200
    assert citizen.login(otp=recovery[0]).status_code == 400  # each recovery code works once


def test_refresh_rotates_and_reuse_revokes_the_family(server: KysoServer) -> None:
    citizen = register_citizen(server)
    first_refresh = citizen.refresh_token
    rotated = citizen.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh}
    )
    assert rotated.status_code == 200
    second_refresh = rotated.json()["refresh_token"]
    assert second_refresh != first_refresh

    reuse = citizen.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh}
    )
    assert reuse.status_code == 401
    assert reuse.json()["error"] == "invalid_token"
    after = citizen.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": second_refresh}
    )
    assert after.status_code == 401  # the whole family is revoked


def test_repeated_failures_are_throttled(server: KysoServer) -> None:
    citizen = register_citizen(server)
    wrong = Account(
        email=citizen.email, password="wrong password 123", id=citizen.id, client=citizen.client
    )
    codes = [wrong.login().status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3] == 429
    throttled = wrong.login()
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert throttled.json()["code"] == "auth.throttled"
    assert citizen.login().status_code == 429  # even the right password waits


def test_unknown_address_is_throttled_like_a_known_one(server: KysoServer) -> None:
    """The throttle must not tell which e-mail addresses have accounts."""
    citizen = register_citizen(server)
    ghost = Account(email=f"nobody-{time.time_ns()}@example.vn", password="wrong password 123",
                    id="", client=citizen.client)  # fmt: skip
    known = Account(email=citizen.email, password="wrong password 123", id=citizen.id,
                    client=citizen.client)  # fmt: skip
    for account in (ghost, known):
        codes = [account.login().status_code for _ in range(4)]
        assert codes == [400, 400, 400, 429], account.email
        assert account.login().json()["code"] == "auth.throttled"


def test_unknown_grant_and_missing_token(server: KysoServer) -> None:
    response = httpx.post(f"{server.url}/v1/auth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    as_email = httpx.post(
        f"{server.url}/v1/auth/token",
        data={"grant_type": "password", "email": "a@b.vn", "password": "x"},
    )
    assert as_email.status_code == 422, as_email.text  # the grant is right; a field is missing
    problem = as_email.json()
    assert problem["code"] == "identity.invalid_field"
    assert "username is the account's e-mail address" in problem["detail"]
    anonymous = httpx.get(f"{server.url}/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def test_alg_none_token_is_refused_over_http(server: KysoServer) -> None:
    citizen = register_citizen(server)
    header, payload, _ = citizen.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = httpx.get(
        f"{server.url}/v1/me",
        headers={"Authorization": f"Bearer {forged_header}.{forged_payload}."},
    )
    assert response.status_code == 401
    assert header  # the genuine header was there to forge from


def test_wrong_pins_lock_the_credential_and_the_puk_unlocks(server: KysoServer) -> None:
    citizen = register_citizen(server)
    proof(staff(server, "registration_officer"), citizen)
    issued = citizen.client.post("/v1/me/certificate", json={"pin": PIN}).json()
    cid = issued["credential_id"]
    digest = "ab" * 32
    statuses = []
    for _ in range(5):
        response = citizen.client.post(
            "/v1/me/authorisations",
            json={"credential_id": cid, "pin": "739201", "hashes": [digest]},
        )
        statuses.append(
            (response.status_code, response.json()["code"], response.json().get("attempts_left"))
        )
    assert statuses[:4] == [(403, "credential.wrong_pin", n) for n in (4, 3, 2, 1)]
    assert statuses[4][:2] == (423, "credential.locked")
    locked = citizen.client.get("/v1/me/credentials").json()[0]
    assert locked["status"] == "locked"

    unlocked = citizen.client.post(
        f"/v1/me/credentials/{cid}/unlock", json={"puk": issued["puk"], "new_pin": "739201"}
    )
    assert unlocked.status_code == 200, unlocked.text
    sad = citizen.client.post(
        "/v1/me/authorisations", json={"credential_id": cid, "pin": "739201", "hashes": [digest]}
    )
    assert sad.status_code == 201
    assert sad.json()["expires_in"] > 0


def test_agency_api_key_is_shown_once_scoped_and_revocable(server: KysoServer) -> None:
    organisation = f"Sở Tư pháp {time.time_ns()}"
    server.cli("admin", "create-organisation", "--name", organisation, "--kind", "agency")
    officer = staff(server, "agency_officer", organisation=organisation)
    created = officer.client.post(
        "/v1/api-keys", json={"name": "hệ thống một cửa", "roles": ["agency_officer"]}
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    listed = officer.client.get("/v1/api-keys").json()
    assert all("key" not in entry for entry in listed)

    as_system = httpx.get(f"{server.url}/v1/me", headers={"X-API-Key": key})
    assert as_system.status_code == 200
    assert as_system.json()["email"] == officer.email
    assert (
        httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )

    escalate = officer.client.post("/v1/api-keys", json={"name": "x", "roles": ["billing_staff"]})
    assert escalate.status_code == 403
    assert officer.client.delete(f"/v1/api-keys/{created.json()['id']}").status_code == 200
    assert httpx.get(f"{server.url}/v1/me", headers={"X-API-Key": key}).status_code == 401


def test_audit_chain_is_intact_and_records_sign_ins(server: KysoServer) -> None:
    register_citizen(server)
    result = server.cli("admin", "audit", "verify")
    verdict = json.loads(result.stdout)
    assert verdict["intact"] is True
    assert verdict["records"] > 0


def test_csr_variant_certifies_a_key_on_the_citizens_token(
    server: KysoServer, pki: PkiFiles, workdir: Path
) -> None:
    citizen = register_citizen(server)
    proof(staff(server, "registration_officer"), citizen)
    key, csr = workdir / "token.key", workdir / "token.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-subj", "/CN=token", "-out", str(csr))  # fmt: skip
    no_password = citizen.client.post("/v1/me/certificate/csr", json={"csr": csr.read_text()})
    assert no_password.status_code == 422
    wrong = citizen.client.post("/v1/me/certificate/csr",
                                json={"csr": csr.read_text(), "password": "not it at all"})  # fmt: skip
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "auth.invalid_credentials"
    issued = citizen.client.post("/v1/me/certificate/csr",
                                 json={"csr": csr.read_text(), "password": citizen.password})  # fmt: skip
    assert issued.status_code == 201, issued.text
    assert issued.json()["puk"] is None
    cert = workdir / "token.pem"
    cert.write_text(issued.json()["certificate"])
    assert (
        openssl(
            "verify", "-CAfile", str(pki.root), "-untrusted", str(pki.issuing), str(cert)
        ).returncode
        == 0
    )
    same_key = openssl("x509", "-in", str(cert), "-noout", "-pubkey").stdout
    assert same_key == openssl("pkey", "-in", str(key), "-pubout").stdout
    refused = citizen.client.post("/v1/me/authorisations", json={
        "credential_id": issued.json()["credential_id"], "pin": PIN, "count": 1})  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["code"] == "credential.unusable"
