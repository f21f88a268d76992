"""One PIN for a batch: ``POST /v1/me/authorisations`` with a count gives a SAD that
``POST /v1/signatures`` spends one document at a time; it cannot sign one more than its count,
another citizen cannot use it, and each document is charged once."""

from __future__ import annotations

import httpx

from tests.e2e.signing_helpers import PIN, make_signers
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer


def _sign(client: httpx.Client, **unlock: str) -> httpx.Response:
    return client.post("/v1/signatures", data={**unlock, "level": "B-B", "invisible": "true"},
                       files={"file": ("don.pdf", simple_pdf(), "application/pdf")})  # fmt: skip


def test_a_batch_authorisation_signs_exactly_its_count(server: KysoServer) -> None:
    mai, other = make_signers(server, 2)
    client = mai.account.client
    sad = client.post("/v1/me/authorisations", json={
        "credential_id": mai.credential_id, "pin": PIN, "count": 3}).json()["sad"]  # fmt: skip
    before = client.get("/v1/me/wallet").json()["balance"]
    signed = [_sign(client, sad=sad) for _ in range(3)]
    assert [s.status_code for s in signed] == [200, 200, 200]
    assert len({s.headers["X-Signature-Id"] for s in signed}) == 3
    fourth = _sign(client, sad=sad)
    assert (fourth.status_code, fourth.json()["code"]) == (403, "authorisation.invalid")
    stolen = _sign(other.account.client, sad=sad)  # another citizen's credential: refused
    assert stolen.status_code == 403
    both = _sign(client, sad=sad, pin=PIN)
    assert (both.status_code, both.json()["code"]) == (422, "signing.invalid_option")
    neither = _sign(client)
    assert neither.status_code == 422
    assert client.get("/v1/me/wallet").json()["balance"] == before - 3 * 4_000
    usage = [u for u in client.get("/v1/me/usage").json()["items"]
             if u["signature_id"] in {s.headers["X-Signature-Id"] for s in signed}]  # fmt: skip
    assert sorted(u["amount"] for u in usage) == [4_000] * 3
