"""Issue 17 item 5: the PIN lock holds under parallel requests on every path at once. At most
five wrong PINs are ever checked before the lock (counted in the audit log: one
``credential.wrong_pin`` per PIN checked and found wrong), and a locked credential answers the
same to every PIN on every path."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer
from tests.support.snapshot import table_records

WRONG = "739201"


def _sign_body(signer: Signer, pin: str) -> httpx.Response:
    headers = {"Content-Type": "application/pdf", "Idempotency-Key": uuid.uuid4().hex,
               "Kyso-PIN": pin}  # fmt: skip
    return signer.account.client.post("/v1/signatures/pdf", content=simple_pdf(text=pin),
                                      headers=headers, params={"level": "B-B"}, timeout=120)  # fmt: skip


def _authorise(signer: Signer, pin: str) -> httpx.Response:
    return signer.account.client.post(
        "/v1/me/authorisations",
        json={"credential_id": signer.credential_id, "pin": pin, "count": 1},
        timeout=120,
    )


def _wrong_pins_checked(server: KysoServer, signer: Signer) -> int:
    return sum(
        1
        for row in table_records(server.database_url, "audit_log")
        if row["action"] == "credential.wrong_pin" and row["target"] == signer.credential_id
    )


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _answer(response: httpx.Response) -> tuple[int, str]:
    if response.is_success:
        return response.status_code, "done"
    return response.status_code, response.json()["code"]


def test_four_wrong_and_one_right_at_once_check_five_and_reveal_nothing(
    server: KysoServer,
) -> None:
    (signer,) = make_signers(server, count=1)
    pins = [WRONG] * 4 + [PIN]
    answers = _at_once([lambda pin=pin: _sign_body(signer, pin) for pin in pins])  # type: ignore[misc]
    assert _wrong_pins_checked(server, signer) <= 4
    right = answers[-1]
    assert right.status_code == 200, right.text  # five attempts: the right one is checked
    assert {_answer(a) for a in answers[:4]} <= {(403, "credential.wrong_pin")}


def test_ten_wrong_pins_on_two_paths_check_five_then_every_pin_answers_alike(
    server: KysoServer,
) -> None:
    for signer in make_signers(server, count=3):  # a race: three rounds
        _ten_wrong_on_two_paths(server, signer)


def _ten_wrong_on_two_paths(server: KysoServer, signer: Signer) -> None:
    calls: list[Callable[[], httpx.Response]] = []
    for _ in range(5):
        calls += [lambda: _sign_body(signer, WRONG), lambda: _authorise(signer, WRONG)]
    calls.append(lambda: _sign_body(signer, PIN))  # the right PIN in the crowd
    answers = _at_once(calls)
    # A right PIN checked in the crowd clears the count, as on a smart card: then at most four
    # wrong ones before it and five after it; without it, at most five in all.
    bound = 4 + 5 if answers[-1].status_code == 200 else 5
    assert _wrong_pins_checked(server, signer) <= bound, [_answer(a) for a in answers]
    credential = signer.account.client.get("/v1/me/credentials").json()[0]
    assert credential["status"] == "locked", [_answer(a) for a in answers]
    wrong_answers = {_answer(a) for a in answers[:-1]}
    assert wrong_answers <= {(403, "credential.wrong_pin"), (423, "credential.locked")}
    # the right PIN either signed before the lock or answers as a wrong one would
    assert answers[-1].status_code == 200 or _answer(answers[-1]) in wrong_answers, _answer(
        answers[-1]
    )
    after = _at_once(
        [lambda pin=pin: _sign_body(signer, pin) for pin in (PIN, WRONG)]  # type: ignore[misc]
        + [lambda pin=pin: _authorise(signer, pin) for pin in (PIN, WRONG)]  # type: ignore[misc]
    )
    assert {_answer(a) for a in after} == {(423, "credential.locked")}
    assert _wrong_pins_checked(server, signer) <= bound  # nothing checked once locked
