"""Issue 17 item 4: one-time codes (and PUKs) are counted per account on every path that takes
one; after a few wrong ones the right one is refused too until the wait has passed."""

from __future__ import annotations

import time

import pyotp

from tests.e2e.signing_helpers import PIN, Signer, make_signers, sign
from tests.support.api import Account, enrol_otp
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer

GUESSES = 12


def _next_code(totp: pyotp.TOTP) -> str:
    return totp.at(time.time() + 30)  # the next step: the confirmation spent this one


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _authorise(signer: Signer, otp: str) -> tuple[int, str]:
    answer = signer.account.client.post(
        "/v1/me/authorisations",
        json={"credential_id": signer.credential_id, "pin": PIN, "otp": otp, "count": 1},
    )
    return answer.status_code, answer.json().get("code", "")


def test_many_wrong_codes_on_authorisations_then_the_right_one_is_refused(
    server: KysoServer,
) -> None:
    (signer,) = make_signers(server, count=1)
    totp = enrol_otp(signer.account)
    right = _next_code(totp)
    answers = [_authorise(signer, _wrong(right)) for _ in range(GUESSES)]
    checked = answers.count((400, "auth.invalid_credentials"))
    assert checked <= 5, answers
    assert answers.count((429, "auth.throttled")) >= GUESSES - 5
    assert _authorise(signer, right) == (429, "auth.throttled")  # the right one, too soon


def test_wrong_codes_count_across_sign_in_signing_and_authorisations(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    account: Account = signer.account
    totp = enrol_otp(account)
    right = _next_code(totp)
    wrong = _wrong(right)
    assert account.login(otp=wrong).status_code == 400
    assert sign(signer, simple_pdf(), level="B-B", otp=wrong).status_code == 400
    assert _authorise(signer, wrong) == (400, "auth.invalid_credentials")
    refused = account.login(otp=right)  # the fourth, within the first wait
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "auth.throttled"
    assert int(refused.headers["Retry-After"]) >= 1
    time.sleep(int(refused.headers["Retry-After"]) + 0.1)
    assert account.login(otp=right).status_code == 200  # after the wait, the owner gets in


def test_wrong_puks_are_counted(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    client = signer.account.client
    for _ in range(5):
        client.post("/v1/me/authorisations",
                    json={"credential_id": signer.credential_id, "pin": "739201", "count": 1})  # fmt: skip
    answers = [
        client.post(
            f"/v1/me/credentials/{signer.credential_id}/unlock",
            json={"puk": f"AAAA-BBBB-CCCC-{n:04d}", "new_pin": "402918"},
        )
        for n in range(6)
    ]
    codes = [(a.status_code, a.json()["code"]) for a in answers]
    assert codes[:3] == [(403, "credential.wrong_puk")] * 3
    assert (429, "auth.throttled") in codes[3:], codes
