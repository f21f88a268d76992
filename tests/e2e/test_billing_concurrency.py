"""Two ``kyso serve`` processes on one PostgreSQL: a wallet that covers K signatures, 2K+2
signing requests at once. Exactly K are signed and charged, the others get 402, the balance
ends at exactly 0, and replaying every request with its key changes nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.signing_helpers import PIN, Signer, make_signers
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
    checked = pair.first.cli("admin", "check-ledger")
    report = json.loads(checked.stdout)
    assert report["ok"], report["findings"]
    assert report["checked"]["signatures"] == K


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
