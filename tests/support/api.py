"""A citizen's, an officer's and an admin's way into a running kyso, over HTTP."""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pyotp

from tests.support.server import KysoServer

PASSWORD = "một mật khẩu dài 2026"
_serial = itertools.count(1)


@dataclass
class Account:
    email: str
    password: str
    id: str
    client: httpx.Client
    access_token: str = ""
    refresh_token: str = ""

    def login(self, otp: str | None = None) -> httpx.Response:
        form = {"grant_type": "password", "username": self.email, "password": self.password}
        if otp:
            form["otp"] = otp
        response = self.client.post("/v1/auth/token", data=form)
        if response.status_code == 200:
            self.access_token = response.json()["access_token"]
            self.refresh_token = response.json()["refresh_token"]
            self.client.headers["Authorization"] = f"Bearer {self.access_token}"
        return response


def new_cccd(born: date, male: bool = True) -> str:
    century = {1900: 0, 2000: 2}[born.year // 100 * 100] + (0 if male else 1)
    return (
        f"001{century}{born.year % 100:02d}{next(_serial) % 1000:03d}{secrets.randbelow(1000):03d}"
    )


def register_citizen(server: KysoServer, *, born: date = date(1990, 5, 17)) -> Account:
    email = f"citizen-{secrets.token_hex(4)}@example.vn"
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post(
        "/v1/auth/register",
        json={
            "full_name": "Nguyễn Thị Mai",
            "cccd": new_cccd(born, male=False),
            "date_of_birth": born.isoformat(),
            "gender": "female",
            "email": email,
            "phone": "0912 345 678",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    account = Account(email=email, password=PASSWORD, id=response.json()["id"], client=client)
    assert account.login().status_code == 200
    return account


def staff(server: KysoServer, role: str, **extra: str) -> Account:
    """A staff account made with ``kyso admin create-user``, signed in."""
    email = f"{role}-{secrets.token_hex(4)}@kyso.test"
    args = ["admin", "create-user", "--email", email, "--password", PASSWORD, "--role", role]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    created = json.loads(server.cli(*args).stdout)
    account = Account(email=email, password=PASSWORD, id=created["id"],
                      client=httpx.Client(base_url=server.url, timeout=30))  # fmt: skip
    assert account.login().status_code == 200
    return account


def proof(officer: Account, citizen: Account) -> dict[str, Any]:
    response = officer.client.post(
        f"/v1/proofing/{citizen.id}", json={"document": "CCCD card", "method": "in_person"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def top_up(
    server: KysoServer, account: Account, amount: int, reference: str | None = None
) -> dict[str, Any]:
    """Credit a citizen's wallet as billing staff do at the desk (``kyso billing top-up``)."""
    reference = reference or f"test-{secrets.token_hex(6)}"
    done = server.cli("billing", "top-up", "--email", account.email, "--amount", str(amount),
                      "--reference", reference)  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def enrol_otp(account: Account) -> pyotp.TOTP:
    """Enrol a TOTP second factor for ``account`` and confirm it; its authenticator."""
    enrolment = account.client.post("/v1/me/otp/enrol", json={"password": account.password})
    assert enrolment.status_code == 200, enrolment.text
    totp = pyotp.TOTP(enrolment.json()["secret"])
    confirmed = account.client.post("/v1/me/otp/confirm", json={"code": totp.now()})
    assert confirmed.status_code == 200, confirmed.text
    return totp
