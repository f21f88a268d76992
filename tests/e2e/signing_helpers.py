"""Citizens who sign, and a call of POST /v1/signatures."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.support.api import Account, proof, register_citizen, staff, top_up
from tests.support.server import KysoServer

PIN = "402917"


@dataclass
class Signer:
    account: Account
    credential_id: str


FUNDS = 1_000_000
"""What each signer's wallet holds: 250 signatures at the first tier's 4,000 VND."""


def make_signers(server: KysoServer, count: int = 2, *, funds: int = FUNDS) -> list[Signer]:
    officer = staff(server, "registration_officer")
    signers = []
    for _ in range(count):
        citizen = register_citizen(server)
        proof(officer, citizen)
        issued = citizen.client.post("/v1/me/certificate", json={"pin": PIN})
        assert issued.status_code == 201, issued.text
        if funds:
            top_up(server, citizen, funds)
        signers.append(Signer(citizen, issued.json()["credential_id"]))
    return signers


def sign(signer: Signer, pdf: bytes, *, key: str | None = None, pin: str = PIN,
         filename: str = "don.pdf", **fields: str) -> httpx.Response:  # fmt: skip
    headers = {"Idempotency-Key": key} if key else {}
    data = {"pin": pin, **fields}
    return signer.account.client.post(
        "/v1/signatures", files={"file": (filename, pdf, "application/pdf")}, data=data,
        headers=headers, timeout=120,
    )  # fmt: skip


def usage(signer: Signer) -> list[dict[str, object]]:
    items: list[dict[str, object]] = signer.account.client.get("/v1/me/usage").json()["items"]
    return items
