"""Two ``kyso serve`` processes on one PostgreSQL, each of a wallet, a subscription's quota and
a pack exactly at its boundary (K signatures left), and 2K (or more) signing requests at once
spread over both: exactly K are signed, each charged at the price its attempt reserved, none
turned into a charge that was not priced before signing; the others get 402 before any
signing; balances and counters end exact, ``kyso admin check-ledger`` finds nothing, and
replaying every request with its key changes nothing."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from billing.calendar import month_key, year_key
from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.api import PASSWORD, Account, new_cccd, staff, top_up
from tests.support.pair import Pair, two_servers
from tests.support.pdfs import simple_pdf
from tests.support.snapshot import table_records

K = 5
PRICE = 4_000


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with two_servers(
        tmp_path_factory.mktemp("two-processes"), KYSO_PAYMENT_PROVIDER="fake"
    ) as both:
        yield both


def _sign(url: str, token: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/signatures", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        files={"file": ("don.pdf", simple_pdf(text=key), "application/pdf")},
        data={"pin": PIN, "level": "B-B", "invisible": "true"}, timeout=120,
    )  # fmt: skip


def _books(pair: Pair, signer: Signer) -> tuple[int, int, int]:
    """(balance, signature usage events, signature records) of the signer, from the database."""
    url = pair.first.database_url
    (account,) = [a for a in table_records(url, "billing_account") if a["id"] == signer.account.id]
    events = [e for e in table_records(url, "usage_event")
              if e["account_id"] == signer.account.id and str(e["product"]).startswith("signature.")]  # fmt: skip
    records = [r for r in table_records(url, "signature") if r["user_id"] == signer.account.id]
    return int(account["balance"]), len(events), len(records)


def test_a_wallet_for_k_signatures_signs_exactly_k_of_2k_plus_2_concurrent_requests(
    pair: Pair,
) -> None:
    (signer,) = make_signers(pair.first, count=1, funds=K * PRICE)
    token = signer.account.access_token
    keys = [f"dong-thoi-{i}" for i in range(2 * K + 2)]
    urls = [pair.first.url, pair.second.url]
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        answers = list(pool.map(lambda i: _sign(urls[i % 2], token, keys[i]), range(len(keys))))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: K, 402: K + 2}, [a.text[:200] for a in answers if a.status_code != 200]
    refused = [a for a in answers if a.status_code == 402]
    assert {a.json()["code"] for a in refused} == {"billing.insufficient_funds"}
    assert _books(pair, signer) == (0, K, K)

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:  # every request again, same keys
        replays = list(pool.map(lambda i: _sign(urls[(i + 1) % 2], token, keys[i]),
                                range(len(keys))))  # fmt: skip
    for answer, replay in zip(answers, replays, strict=True):
        assert replay.status_code == answer.status_code
        if answer.status_code == 200:
            assert replay.content == answer.content
            assert replay.headers["idempotent-replayed"] == "true"
    assert _books(pair, signer) == (0, K, K)

    wallet = httpx.get(f"{pair.second.url}/v1/me/wallet", timeout=30,
                       headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    assert (wallet["balance"], wallet["available"], wallet["signatures_this_year"]) == (0, 0, K)
    _each_charged_as_reserved(pair, signer.account.id, K)
    assert _counter(pair, signer.account.id, f"signatures:{year_key(datetime.now(UTC))}") == K
    _ledger_ok(pair)


def _signed_concurrently(pair: Pair, token: str, keys: list[str]) -> Counter[int]:
    urls = [pair.first.url, pair.second.url]
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        answers = list(pool.map(lambda i: _sign(urls[i % 2], token, keys[i]), range(len(keys))))
    refused = {a.json()["code"] for a in answers if a.status_code != 200}
    assert refused <= {"billing.insufficient_funds"}, refused
    return Counter(a.status_code for a in answers)


def _each_charged_as_reserved(pair: Pair, account_id: str, count: int) -> list[dict[str, Any]]:
    """Every signature's charge is what its attempt held: the amount, and the free unit."""
    url = pair.first.database_url
    attempts = {a["signature_id"]: a for a in table_records(url, "signing_attempt")
                if a["account_id"] == account_id and a["state"] == "charged"}  # fmt: skip
    events = [e for e in table_records(url, "usage_event")
              if e["account_id"] == account_id and str(e["product"]).startswith("signature.")]  # fmt: skip
    assert len(events) == len(attempts) == count
    for event in events:
        held = attempts[event["signature_id"]]
        assert int(event["amount"]) == int(held["wallet_amount"])
        funding = str(event["funding"])
        assert (funding == "quota", funding.startswith("pack:"), funding == "allowance") == (
            bool(held["quota_units"]), bool(held["pack_units"]), bool(held["allowance_units"])
        )  # fmt: skip
    assert [h for h in table_records(url, "charge_hold") if h["account_id"] == account_id] == []
    return events


def _counter(pair: Pair, account_id: str, name: str) -> int:
    rows = [c for c in table_records(pair.first.database_url, "usage_counter")
            if c["account_id"] == account_id and c["name"] == name]  # fmt: skip
    return int(rows[0]["count"]) if rows else 0


def _ledger_ok(pair: Pair) -> None:
    checked = pair.first.cli("admin", "check-ledger", check=False)
    report = json.loads(checked.stdout)
    assert checked.returncode == 0, report["findings"]
    assert report["ok"], report["findings"]


def test_a_quota_for_k_signatures_signs_exactly_k_and_prices_no_overage_after_signing(
    pair: Pair,
) -> None:
    """An organisation on a subscription with K signatures included and no credit for
    overage: of 2K requests, K are signed within the quota; none becomes an overage charge."""
    admin = staff(pair.first, "admin")
    code = f"quota-{secrets.token_hex(3)}"
    terms = {"name": "K included", "monthly_fee": 0, "included_signatures": K,
             "overage_price": 2_000, "postpaid": True,
             "flat_prices": {"timestamp": 500, "certificate.issue": 0, "verification": 0}}  # fmt: skip
    starts = datetime.now(UTC) + timedelta(seconds=2)  # plan versions never act in the past
    published = admin.client.post("/v1/billing/plans", json={
        "code": code, "effective_from": starts.isoformat(), "terms": terms})  # fmt: skip
    assert published.status_code == 201, published.text
    time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 0.2)
    name = f"Công ty {secrets.token_hex(3)}"
    organisation = json.loads(pair.first.cli("admin", "create-organisation", "--name", name,
                                              "--kind", "company").stdout)  # fmt: skip
    moved = admin.client.put(f"/v1/billing/accounts/{organisation['id']}/plan",
                             json={"plan": code, "credit_limit": 0})  # fmt: skip
    assert moved.status_code == 200, moved.text
    email = f"nhan-vien-{secrets.token_hex(3)}@congty.vn"
    pair.first.cli("admin", "create-user", "--email", email, "--password", PASSWORD, "--role",
                   "citizen", "--full-name", "Lê Văn Cường", "--cccd",
                   new_cccd(date(1988, 2, 1)), "--date-of-birth", "1988-02-01", "--gender",
                   "male", "--organisation", name, "--verified")  # fmt: skip
    member = Account(email=email, password=PASSWORD, id="",
                     client=httpx.Client(base_url=pair.first.url, timeout=60))  # fmt: skip
    assert member.login().status_code == 200
    assert member.client.post("/v1/me/certificate", json={"pin": PIN}).status_code == 201
    keys = [f"quota-{i}" for i in range(2 * K)]
    statuses = _signed_concurrently(pair, member.access_token, keys)
    assert statuses == {200: K, 402: K}
    events = _each_charged_as_reserved(pair, organisation["id"], K)
    assert {(e["tier"], int(e["amount"])) for e in events} == {("quota", 0)}
    assert _counter(pair, organisation["id"], f"quota:{month_key(datetime.now(UTC))}") == K
    accounts = {a["id"]: a for a in table_records(pair.first.database_url, "billing_account")}
    assert int(accounts[organisation["id"]]["balance"]) == 0
    _ledger_ok(pair)


def test_a_pack_of_ten_signs_exactly_ten_of_twenty_concurrent_requests(pair: Pair) -> None:
    (signer,) = make_signers(pair.first, count=1, funds=0)
    top_up(pair.first, signer.account, 33_000)
    bought = signer.account.client.post("/v1/me/packs", json={"pack": "pack-10"})
    assert bought.status_code == 201, bought.text
    keys = [f"goi-{i}" for i in range(20)]
    statuses = _signed_concurrently(pair, signer.account.access_token, keys)
    assert statuses == {200: 10, 402: 10}
    events = _each_charged_as_reserved(pair, signer.account.id, 10)
    assert {(e["tier"], int(e["amount"])) for e in events} == {("pack", 0)}
    (pack,) = [p for p in table_records(pair.first.database_url, "pack_purchase")
               if p["account_id"] == signer.account.id]  # fmt: skip
    assert (int(pack["used"]), int(pack["signatures"])) == (10, 10)
    assert _books(pair, signer) == (0, 10, 10)
    _ledger_ok(pair)


def test_the_fake_payment_provider_credits_once_whichever_process_answers(pair: Pair) -> None:
    (signer,) = make_signers(pair.first, count=1, funds=0)
    auth = {"Authorization": f"Bearer {signer.account.access_token}"}
    started = httpx.post(f"{pair.first.url}/v1/me/wallet/top-ups", json={"amount": 50_000},
                         headers=auth, timeout=30)  # fmt: skip
    assert started.status_code == 201, started.text
    pay = started.json()["checkout_url"].replace(pair.first.url, pair.second.url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        paid = list(pool.map(lambda _: httpx.post(pay, headers=auth, timeout=30), range(4)))
    (stranger,) = make_signers(pair.first, count=1, funds=0)
    foreign = httpx.post(
        pay, headers={"Authorization": f"Bearer {stranger.account.access_token}"}, timeout=30
    )
    assert foreign.status_code == 422, "another citizen confirmed someone else's payment"
    assert {p.status_code for p in paid} <= {200, 409}, [p.text for p in paid]
    wallet = httpx.get(f"{pair.second.url}/v1/me/wallet", headers=auth, timeout=30).json()
    assert wallet["balance"] == 50_000
    assert [e["kind"] for e in wallet["entries"]] == ["top_up"]
