"""Issue 17 item 5: the PIN lock holds under parallel requests on every path at once. At most
five wrong PINs are ever checked before the lock (counted in the audit log: one
``credential.wrong_pin`` per PIN checked and found wrong), and a locked credential answers the
same to every PIN on every path."""

from __future__ import annotations

import json
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


def _attempts_left(server: KysoServer, signer: Signer) -> list[int]:
    """Each wrong PIN checked, in the order the audit chain recorded them: the attempts left
    after it (4 after the first failure of a count, 0 when it locked)."""
    rows = sorted(
        (row for row in table_records(server.database_url, "audit_log")
         if row["action"] == "credential.wrong_pin" and row["target"] == signer.credential_id),
        key=lambda row: row["seq"],
    )  # fmt: skip
    details = [row["details"] for row in rows]
    return [int((d if isinstance(d, dict) else json.loads(d))["attempts_left"]) for d in details]


def _counts(left: list[int]) -> list[list[int]]:
    """The attempts left split into counts: a right PIN clears the count, the next wrong one
    starts again at 4."""
    counts: list[list[int]] = []
    for value in left:
        if value == 4 or not counts:
            counts.append([])
        counts[-1].append(value)
    return counts


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
    # A right PIN checked in the crowd clears the count once, as on a smart card (its request
    # may still answer "locked" when the lock came before its signature was recorded): at most
    # two counts, each of at most five wrong PINs counting down to the one lock.
    left = _attempts_left(server, signer)
    counts = _counts(left)
    shown = (left, [_answer(a) for a in answers])
    assert len(counts) <= 2, shown
    assert all(count == list(range(4, 4 - len(count), -1)) for count in counts), shown
    assert left.count(0) == 1, shown
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
    assert _attempts_left(server, signer) == left  # nothing checked once locked
