"""Issue 17 item 12: a whole journey, logged at DEBUG with every request, leaves no secret and
no personal data in the server's log."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.e2e.signing_helpers import PIN
from tests.support.api import PASSWORD, Account, new_cccd, proof, staff, top_up
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer, own_server

PHONE = "0987 654 321"


@pytest.fixture(scope="module")
def logged(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A server of its own that logs everything it would ever log."""
    directory = tmp_path_factory.mktemp(f"logged-{backend}")
    with own_server(backend, directory, extra_env={"KYSO_PAYMENT_PROVIDER": "fake"},
                    serve_args=("--log-level", "debug", "--access-log")) as running:  # fmt: skip
        yield running


def _register(server: KysoServer, cccd: str, email: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/auth/register",
        json={"full_name": "Trần Văn Bảo", "cccd": cccd, "date_of_birth": "1985-03-09",
              "gender": "male", "email": email, "phone": PHONE, "password": PASSWORD},
        timeout=30,
    )  # fmt: skip


def _journey(server: KysoServer) -> list[str]:
    """Every secret and personal value the journey sends or receives."""
    cccd = new_cccd(date(1985, 3, 9))
    email = f"bao-{time.time_ns()}@example.vn"
    # racing registrations of one CCCD: the losers' refusal (a constraint) must not quote it
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _register(server, cccd, email), range(4)))
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 1, [a.text for a in answers]
    client = httpx.Client(base_url=server.url, timeout=60)
    citizen = Account(email=email, password=PASSWORD, id=created[0].json()["id"], client=client)
    assert citizen.login().status_code == 200
    assert Account(email, "sai mật khẩu 12345", citizen.id, httpx.Client(
        base_url=server.url)).login().status_code in (400, 401)  # fmt: skip
    proof(staff(server, "registration_officer"), citizen)
    issued = client.post("/v1/me/certificate", json={"pin": PIN})
    assert issued.status_code == 201, issued.text
    credential, puk = issued.json()["credential_id"], issued.json()["puk"]

    secret = client.post("/v1/me/otp/enrol", json={"password": PASSWORD}).json()["secret"]
    totp = pyotp.TOTP(secret)
    now = time.time()
    codes = [totp.at(now - 30), totp.at(now), totp.at(now + 30)]
    confirmed = client.post("/v1/me/otp/confirm", json={"code": codes[0]})
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert citizen.login(otp=codes[1]).status_code == 200, "sign-in with the one-time code"
    refreshed = client.post("/v1/auth/token", data={
        "grant_type": "refresh_token", "refresh_token": citizen.refresh_token})  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    tokens = [citizen.access_token, citizen.refresh_token,
              refreshed.json()["access_token"], refreshed.json()["refresh_token"]]  # fmt: skip

    top_up(server, citizen, 200_000)
    started = client.post("/v1/me/wallet/top-ups", json={"amount": 100_000})
    assert started.status_code == 201, started.text
    paid = client.post(f"/v1/payments/fake/{started.json()['payment_id']}/pay")
    assert paid.status_code == 200, paid.text

    wrong = client.post("/v1/signatures", files={"file": ("a.pdf", simple_pdf())},
                        data={"pin": "918273", "otp": recovery[1]})  # fmt: skip
    assert wrong.status_code in (401, 403), wrong.text
    signed = client.post("/v1/signatures", files={"file": ("a.pdf", simple_pdf())},
                         data={"pin": PIN, "otp": codes[2]})  # fmt: skip
    assert signed.status_code in (200, 201), signed.text
    digest = base64.b64encode(hashlib.sha256(b"hop dong").digest()).decode()
    sad = client.post("/v1/me/authorisations", json={
        "credential_id": credential, "pin": PIN, "otp": recovery[0], "hashes": [digest]})  # fmt: skip
    assert sad.status_code == 201, sad.text

    organisation = f"Sở Tư pháp {time.time_ns()}"
    server.cli("admin", "create-organisation", "--name", organisation, "--kind", "agency")
    officer = staff(server, "agency_officer", organisation=organisation)
    key = officer.client.post("/v1/api-keys", json={"name": "một cửa", "roles": ["agency_officer"]})
    assert key.status_code == 201, key.text
    assert httpx.get(f"{server.url}/v1/me", headers={"X-API-Key": key.json()["key"]}).is_success
    assert httpx.get(f"{server.url}/v1/me", headers={"X-API-Key": "kyso_sai"}).status_code == 401
    return [PASSWORD, PIN, "918273", puk, secret, *codes, *recovery, *tokens, sad.json()["sad"],
            key.json()["key"], officer.access_token, cccd, PHONE, email]  # fmt: skip


def test_a_journey_logged_at_debug_leaves_no_secret_or_personal_data(logged: KysoServer) -> None:
    secrets_sent = _journey(logged)
    log = logged.log()
    assert '"path": "/v1/me"' in log, "the access log (JSON lines) was written"
    assert "SELECT" in log, "SQL statements were logged at debug"
    found = [value for value in secrets_sent if value and value in log]
    assert not found, f"in the log: {found}"
    digits = PHONE.replace(" ", "")
    assert digits not in log
    logged_at = Path(logged.log_path or "")
    assert logged_at.stat().st_size > 10_000
