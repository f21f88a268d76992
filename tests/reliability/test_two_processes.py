"""Two ``kyso serve`` processes on one PostgreSQL, under load and under a crash.

- Larger than the Billing issue's check: several citizens with wallets for K signatures each,
  far more requests than that at once, spread over both processes: exactly K each are signed
  and charged, the rest refused with 402, every balance ends at 0.
- Crash: one process is killed with SIGKILL while 50 signatures are in flight. Afterwards
  ``kyso admin check-ledger`` finds every usage event matched by a signature record and the
  reverse and every balance equal to its entries, and every client that received a signed PDF
  was charged for it (its signature id has its usage event)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.artifacts import record
from tests.support.pair import Pair, two_servers
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer
from tests.support.snapshot import table_records

PRICE = 4_000


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with two_servers(tmp_path_factory.mktemp("two-processes")) as both:
        yield both


def _sign(url: str, signer: Signer, key: str) -> httpx.Response | Exception:
    try:
        return httpx.post(
            f"{url}/v1/signatures",
            headers={"Authorization": f"Bearer {signer.account.access_token}",
                     "Idempotency-Key": key},
            files={"file": ("don.pdf", simple_pdf(text=key), "application/pdf")},
            data={"pin": PIN, "level": "B-T", "invisible": "true"}, timeout=120,
        )  # fmt: skip
    except httpx.HTTPError as exc:  # the killed process's clients lose their connection
        return exc


def _ledger_check(server: KysoServer) -> dict[str, Any]:
    done = server.cli("admin", "check-ledger", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["findings"] == []
    return report


def test_wallets_for_k_signatures_sign_exactly_k_of_many_concurrent_requests(pair: Pair) -> None:
    k, citizens, per_citizen = 6, 4, 15
    signers = make_signers(pair.first, count=citizens, funds=k * PRICE)
    jobs = [(signer, f"{n}-{i}") for n, signer in enumerate(signers) for i in range(per_citizen)]
    urls = [pair.first.url, pair.second.url]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = list(pool.map(lambda j: _sign(urls[hash(j[1]) % 2], *j), jobs))
    by_citizen: dict[str, Counter[int]] = {}
    for (signer, _), answer in zip(jobs, answers, strict=True):
        assert isinstance(answer, httpx.Response), answer
        by_citizen.setdefault(signer.account.email, Counter())[answer.status_code] += 1
    assert all(c == {200: k, 402: per_citizen - k} for c in by_citizen.values()), by_citizen
    url = pair.first.database_url
    balances = {a["id"]: int(a["balance"]) for a in table_records(url, "billing_account")}
    assert [balances[s.account.id] for s in signers] == [0] * citizens
    _ledger_check(pair.first)


def test_a_process_killed_with_50_signatures_in_flight_leaves_the_books_whole(
    pair: Pair,
) -> None:
    *signers, fresh = make_signers(pair.first, count=6, funds=100 * PRICE)
    victim, survivor = pair.second, pair.first
    assert victim.process is not None
    jobs = [(signers[i % 5], f"crash-{i}") for i in range(50)]
    urls = [victim.url if i % 2 else survivor.url for i in range(50)]
    killer = threading.Timer(0.8, lambda: os.kill(victim.process.pid, signal.SIGKILL))  # type: ignore[union-attr]
    started = time.monotonic()
    killer.start()
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda n: _sign(urls[n], *jobs[n]), range(50)))
    killer.join()
    assert victim.process.wait(timeout=10) == -signal.SIGKILL
    assert time.monotonic() - started > 0.8  # requests were still in flight when it died
    delivered = [a for a in answers if isinstance(a, httpx.Response) and a.status_code == 200]
    lost = [a for a in answers if not isinstance(a, httpx.Response)]
    assert delivered, "no signature finished"
    assert lost, "the kill came after every request had finished"
    assert {a.status_code for a in answers if isinstance(a, httpx.Response)} <= {200, 502, 503}

    url = survivor.database_url
    events = {e["signature_id"]: e for e in table_records(url, "usage_event") if e["signature_id"]}
    records = {r["id"] for r in table_records(url, "signature")}
    for answer in delivered:  # every signed PDF a client holds was charged
        signature_id = answer.headers["X-Signature-Id"]
        assert signature_id in records
        assert int(events[signature_id]["amount"]) == PRICE
    assert set(events) == records  # and nothing was charged without its signature
    record("crash", {"in_flight": 50, "killed": "SIGKILL, one of two processes",
                     "delivered": len(delivered), "lost_connections": len(lost),
                     "other": [a.status_code for a in answers
                               if isinstance(a, httpx.Response) and a.status_code != 200]})  # fmt: skip
    report = _ledger_check(survivor)
    assert report["checked"]
    victim.process = None
    victim.start()  # the restarted process serves again over the same database
    again = _sign(victim.url, fresh, "after-restart")  # (the others' PIN checks in flight at the
    # kill hold their attempts for a minute, as a dead process's should)
    assert isinstance(again, httpx.Response)
    assert again.status_code == 200
    _ledger_check(survivor)
