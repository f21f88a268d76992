"""Issue 17 item 8: CCCD registration is no oracle and no squat. Registering a CCCD another
account gave answers as any registration does; an unproofed account holds the CCCD against
nobody; a registration officer sees the competing registrations, rejects the impostor's and
proofs the owner, after which the CCCD is held (proofing another account with it is refused).
(Replaces test_identity_journey's test_duplicate_cccd_is_refused: a second registration of a
CCCD is no longer refused, which told anyone the CCCD was registered.)"""

from __future__ import annotations

import secrets
from datetime import date

import httpx

from tests.support.api import PASSWORD, new_cccd, staff
from tests.support.server import KysoServer

BORN = date(1985, 3, 3)


def _register(server: KysoServer, cccd: str, who: str) -> httpx.Response:
    body = {"full_name": "Lê Văn Tám", "cccd": cccd, "date_of_birth": BORN.isoformat(),
            "gender": "male", "phone": "0987654321", "password": PASSWORD,
            "email": f"{who}-{secrets.token_hex(4)}@x.vn"}  # fmt: skip
    return httpx.post(f"{server.url}/v1/auth/register", json=body, timeout=30)


def _answer(response: httpx.Response) -> tuple[int, list[str]]:
    return response.status_code, sorted(response.json())


def test_a_squatted_cccd_is_no_oracle_and_the_officer_proofs_the_owner(server: KysoServer) -> None:
    cccd, fresh = new_cccd(BORN), new_cccd(BORN)
    squat = _register(server, cccd, "impostor")
    owner = _register(server, cccd, "owner")  # the owner is not refused
    unrelated = _register(server, fresh, "someone")
    assert squat.status_code == owner.status_code == unrelated.status_code == 201, owner.text
    assert _answer(owner) == _answer(unrelated)  # the same answer: nothing tells the CCCD was taken
    squat_id, owner_id = squat.json()["id"], owner.json()["id"]

    officer = staff(server, "registration_officer")
    queue = {entry["id"]: entry for entry in officer.client.get("/v1/proofing/queue").json()}
    assert queue[owner_id]["competing"] == [squat_id]
    assert queue[squat_id]["competing"] == [owner_id]
    assert queue[owner_id]["cccd"] == cccd

    rejected = officer.client.post(f"/v1/proofing/{squat_id}/reject", json={"notes": "không khớp"})
    assert rejected.status_code == 200, rejected.text
    proofed = officer.client.post(f"/v1/proofing/{owner_id}",
                                  json={"document": "CCCD card", "method": "in_person"})  # fmt: skip
    assert proofed.status_code == 200, proofed.text
    assert proofed.json()["cccd"] == cccd

    late = _register(server, cccd, "late")  # still no oracle once the owner holds it
    assert late.status_code == 201
    refused = officer.client.post(f"/v1/proofing/{late.json()['id']}",
                                  json={"document": "CCCD card", "method": "in_person"})  # fmt: skip
    assert refused.status_code == 409, refused.text
    form = {"grant_type": "password", "username": squat.json()["email"], "password": PASSWORD}
    assert httpx.post(f"{server.url}/v1/auth/token", data=form).status_code == 400  # disabled
