"""The sign-and-charge use case, called as the adapters call it, over a real database of each
backend: the attempt claimed before any PIN or signing work, its states, the price held and
charged as reserved, one ``now``, duplicates that never touch the PIN."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from api.usecases.check_ledger import check_ledger
from api.usecases.services import Services
from billing.errors import InsufficientFunds
from billing.models import BillingAccount, ChargeHold, UsageEvent
from identity.errors import WrongPin
from kernel.errors import IdempotencyConflict, RequestInProgress
from signing.errors import TimestampUnavailable
from signing.models import AttemptState, SignatureRecord, SigningAttempt
from tests.support.pdfs import simple_pdf
from tests.usecases.conftest import Installation


def _attempt(services: Services, user_id: str, key: str) -> SigningAttempt:
    with services.reading() as session:
        return session.exec(
            select(SigningAttempt).where(
                SigningAttempt.user_id == user_id, SigningAttempt.idempotency_key == key
            )
        ).one()


def _charges(services: Services, user_id: str) -> list[UsageEvent]:
    with services.reading() as session:
        return list(
            session.exec(
                select(UsageEvent).where(
                    UsageEvent.user_id == user_id, col(UsageEvent.product).startswith("signature.")
                )
            )
        )


def _balance(services: Services, account_id: str) -> int:
    with services.reading() as session:
        account = session.get(BillingAccount, account_id)
        assert account is not None
        return account.balance


def _holds(services: Services, account_id: str) -> int:
    with services.reading() as session:
        return len(
            session.exec(select(ChargeHold).where(ChargeHold.account_id == account_id)).all()
        )


def test_a_signature_is_claimed_charged_once_and_dated_by_one_now(
    installation: Installation,
) -> None:
    services = installation.services
    user, _ = installation.citizen(funds=10_000)
    first = installation.sign(user, simple_pdf(text="tờ khai"), idempotency_key="k-1", level="B-T")
    again = installation.sign(user, simple_pdf(text="tờ khai"), idempotency_key="k-1", level="B-T")
    assert not first.replayed
    assert again.replayed
    assert again.record.id == first.record.id
    assert Path(again.path).read_bytes() == Path(first.path).read_bytes()
    (event,) = _charges(services, user.id)
    assert (event.signature_id, event.amount, event.created_at) == (
        first.record.id, 4_000, first.record.created_at,
    )  # fmt: skip
    attempt = _attempt(services, user.id, "k-1")
    assert (attempt.state, attempt.signature_id, attempt.wallet_amount) == (
        AttemptState.CHARGED.value, first.record.id, 4_000,
    )  # fmt: skip
    assert attempt.created_at == first.record.created_at
    assert _balance(services, user.id) == 6_000
    assert _holds(services, user.id) == 0
    with pytest.raises(IdempotencyConflict):
        installation.sign(user, simple_pdf(text="khác"), idempotency_key="k-1", level="B-T")


def test_a_refused_payment_claims_nothing_and_a_failure_gives_the_hold_back(
    installation: Installation,
) -> None:
    services = installation.services
    user, _ = installation.citizen(funds=3_999)
    with pytest.raises(InsufficientFunds):
        installation.sign(user, idempotency_key="poor")
    with services.reading() as session:
        assert session.exec(
            select(SigningAttempt).where(SigningAttempt.user_id == user.id)
        ).first() is None  # fmt: skip
    rich, _ = installation.citizen(funds=4_000)
    with pytest.raises(WrongPin):
        installation.sign(rich, idempotency_key="wrong", pin="739201")
    failed = _attempt(services, rich.id, "wrong")
    assert (failed.state, failed.failure) == (AttemptState.FAILED.value, "credential.wrong_pin")
    assert _holds(services, rich.id) == 0
    assert _charges(services, rich.id) == []
    done = installation.sign(rich, idempotency_key="wrong")  # the key is not burnt
    assert not done.replayed
    assert _attempt(services, rich.id, "wrong").state == AttemptState.CHARGED.value
    assert _balance(services, rich.id) == 0


class _Counted:
    """Counts calls of a real method (and may slow it down), passing everything through."""

    def __init__(self, real: Callable[..., Any], *, delay: float = 0.0) -> None:
        self.real, self.delay, self.calls = real, delay, 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.real(*args, **kwargs)


@pytest.fixture
def counted(installation: Installation, monkeypatch: pytest.MonkeyPatch) -> dict[str, _Counted]:
    """The real PIN check, time-stamping authority and PDF signer, counted."""
    import api.usecases.sign_document as use_case

    services = installation.services
    spies = {
        "pin": _Counted(services.identity.credentials.unlock),
        "timestamp": _Counted(services.pki.tsa.respond, delay=0.3),
        "sign": _Counted(use_case.sign_document),
    }
    monkeypatch.setattr(services.identity.credentials, "unlock", spies["pin"])
    monkeypatch.setattr(services.pki.tsa, "respond", spies["timestamp"])
    monkeypatch.setattr(use_case, "sign_document", spies["sign"])
    return spies


def test_twenty_parallel_requests_with_one_key_check_one_pin_and_sign_and_charge_once(
    installation: Installation, counted: dict[str, _Counted]
) -> None:
    services = installation.services
    user, _ = installation.citizen(funds=100_000)
    pdf = simple_pdf(text="hai mươi lần")

    def one(_: int) -> str:
        try:
            done = installation.sign(user, pdf, idempotency_key="hai-muoi", level="B-T")
        except RequestInProgress as refused:
            return f"in progress, retry after {refused.retry_after}"
        return "replayed" if done.replayed else "signed"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = Counter(pool.map(one, range(20)))
    assert outcomes["signed"] == 1, outcomes
    assert outcomes["replayed"] + outcomes["in progress, retry after 1"] == 19, outcomes
    assert (counted["pin"].calls, counted["timestamp"].calls, counted["sign"].calls) == (1, 1, 1)
    (event,) = _charges(services, user.id)
    assert event.amount == 4_000
    with services.reading() as session:
        records = session.exec(select(SignatureRecord).where(SignatureRecord.user_id == user.id))
        assert [r.id for r in records] == [event.signature_id]
    assert _balance(services, user.id) == 96_000
    assert installation.sign(user, pdf, idempotency_key="hai-muoi", level="B-T").replayed


def test_a_signing_slower_than_its_hold_keeps_it_and_is_charged_once(
    installation: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold lives one second; the time-stamp takes three. Meanwhile another request of
    the same wallet, which covers one signature, is refused: the slow one kept its hold, and
    is charged at its reserved price and delivered."""
    services = installation.with_settings(hold_seconds=1)
    user, _ = installation.citizen(funds=4_000)
    slow = _Counted(services.pki.tsa.respond, delay=3.0)
    monkeypatch.setattr(services.pki.tsa, "respond", slow)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(installation.sign, user, services=services,
                              idempotency_key="slow", level="B-T")  # fmt: skip
        time.sleep(2.0)  # past the hold's first lifetime, the time-stamp not back yet
        assert not pending.done()
        assert _attempt(services, user.id, "slow").state == AttemptState.RESERVED.value
        with pytest.raises(InsufficientFunds):
            installation.sign(user, services=services, idempotency_key="meanwhile")
        done = pending.result(timeout=60)
    assert not done.replayed
    assert slow.calls == 1
    (event,) = _charges(services, user.id)
    assert (event.signature_id, event.amount) == (done.record.id, 4_000)
    assert _balance(services, user.id) == 0
    assert _attempt(services, user.id, "slow").state == AttemptState.CHARGED.value
    _, findings = check_ledger(services)
    assert findings == []


def test_a_retry_takes_over_an_attempt_whose_worker_is_gone(
    installation: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies mid-flight (here: its time-stamp never comes back and it stops
    renewing) leaves an attempt in flight; once its lease lapses, a retry with the key claims
    it, its holds go back, and the retry signs and is charged once."""
    services = installation.with_settings(hold_seconds=1)
    user, _ = installation.citizen(funds=4_000)
    pdf = simple_pdf(text="sập nguồn")
    import api.usecases.in_flight as in_flight

    monkeypatch.setattr(in_flight.LeaseKeeper, "renew", lambda self: True)  # a stalled worker
    real = services.pki.tsa.respond
    stuck = threading.Event()

    def never(*args: Any, **kwargs: Any) -> Any:
        stuck.wait(30)
        raise TimestampUnavailable("the worker died")

    monkeypatch.setattr(services.pki.tsa, "respond", never)
    with ThreadPoolExecutor(max_workers=1) as pool:
        dead = pool.submit(installation.sign, user, pdf, services=services, idempotency_key="crash",
                           level="B-T")  # fmt: skip
        time.sleep(0.5)
        with pytest.raises(RequestInProgress):
            installation.sign(user, pdf, services=services, idempotency_key="crash", level="B-T")
        time.sleep(1.2)  # its lease lapses
        monkeypatch.setattr(services.pki.tsa, "respond", real)
        retried = installation.sign(user, pdf, services=services, idempotency_key="crash",
                                    level="B-T")  # fmt: skip
        stuck.set()
        with pytest.raises(Exception, match=r"retry took it over|the worker died"):
            dead.result(timeout=60)
    assert not retried.replayed
    assert [e.signature_id for e in _charges(services, user.id)] == [retried.record.id]
    assert _balance(services, user.id) == 0
    assert _holds(services, user.id) == 0
    assert _attempt(services, user.id, "crash").state == AttemptState.CHARGED.value


def test_each_signing_gets_its_own_parse_of_the_ca_chain(installation: Installation) -> None:
    """asn1crypto parses a certificate the first time a part of it is read, without a lock:
    two request threads reading one shared object at once failed with a KeyError (seen in the
    two-process test). Each caller gets the same certificates as objects of its own."""
    signing = installation.services.signing
    first, second = signing.chain, signing.chain
    assert [c.dump() for c in first] == [c.dump() for c in second] == list(signing.chain_der)
    assert all(a is not b for a, b in zip(first, second, strict=True))
    assert first[0].subject != first[1].subject  # the issuing CA, then the root
    assert first[1].self_signed == "maybe"
