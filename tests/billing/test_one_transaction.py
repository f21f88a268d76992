"""Several moves of money in one transaction, on each database: the hot statements are built
once and run beside the ORM (counters, wallet, holds, signing attempts, the audit chain), so
what a session has loaded must show what those statements wrote, as an ORM statement would."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from billing.accounts import ORGANISATION, locked_account
from billing.charges import bump_counter, charge, counter_value
from billing.ledger_check import check_books
from billing.models import ChargeHold, LedgerEntry, UsageCounter
from billing.reservations import extend, release, reserve
from billing.wallet import post_entry
from identity.audit import record_audit, verify_audit_chain
from identity.models import AuditHead, User
from signing import attempts
from signing.models import AttemptState, SigningAttempt
from tests.billing.conftest import Books

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_charges_in_one_transaction_each_see_the_ones_before_across_a_tier_boundary(
    books: Books,
) -> None:
    """The 1,000th signature of the year costs 4,000 VND, the 1,001st 3,000: in one
    transaction as in two (a counter the session holds is kept in step with its upsert)."""
    payer = books.payer(funds=20_000, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "signatures:2026", 998)
        loaded = session.get(UsageCounter, (payer.account_id, "signatures:2026"))
        assert loaded is not None
        assert loaded.count == 998
        amounts = [charge(session, payer, "signature.B-T", now=NOW).amount for _ in range(3)]
        assert loaded.count == counter_value(session, payer.account_id, "signatures:2026") == 1_001
        account = locked_account(session, payer.account_id)
        assert account.balance == 20_000 - sum(amounts)
    assert amounts == [4_000, 4_000, 3_000]
    with books.work() as session:
        assert counter_value(session, payer.account_id, "signatures:2026") == 1_001
        assert locked_account(session, payer.account_id).balance == 9_000
        entries = session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == payer.account_id)
            .order_by(LedgerEntry.id)  # type: ignore[arg-type]
        ).all()
        assert [(e.amount, e.balance_after) for e in entries] == [
            (20_000, 20_000), (-4_000, 16_000), (-4_000, 12_000), (-3_000, 9_000),
        ]  # fmt: skip
        assert all(e.id is not None and e.usage_event_id for e in entries[1:])
        _, findings = check_books(session)
        assert [f for f in findings if payer.account_id in f.detail] == []


def test_a_subscriptions_quota_is_counted_within_one_transaction(books: Books) -> None:
    payer = books.payer(ORGANISATION, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "quota:2026-11", 999)  # one included left
        tiers = [charge(session, payer, "signature.B-T", now=NOW).tier for _ in range(2)]
    assert tiers == ["quota", "overage"]


def test_holds_the_session_loaded_follow_extend_and_release(books: Books) -> None:
    payer = books.payer(funds=8_000, now=NOW)
    owner = f"lease-{secrets.token_hex(4)}"
    with books.work() as session:
        reserve(session, payer, "signature.B-T", purpose=None, owner=owner, now=NOW,
                expires_at=NOW + timedelta(minutes=1))  # fmt: skip
    with books.work() as session:
        held = session.exec(select(ChargeHold).where(ChargeHold.owner == owner)).one()
        later = NOW + timedelta(minutes=30)
        assert extend(session, owner, later) == 1
        assert held.expires_at == later
        release(session, owner)
        assert held not in session
        assert session.exec(select(ChargeHold).where(ChargeHold.owner == owner)).first() is None
    with books.work() as session:
        assert session.exec(select(ChargeHold).where(ChargeHold.owner == owner)).first() is None


def test_an_attempt_the_session_holds_shows_its_move_and_a_stale_lease_moves_nothing(
    books: Books,
) -> None:
    user = User(email=f"{secrets.token_hex(4)}@example.vn", role="citizen", full_name="Mai",
                password_hash="-", created_at=NOW)  # fmt: skip
    user_id = user.id
    with books.work() as session:
        session.add(user)
        claimed = attempts.claim(session, user_id=user_id, account_id=user_id,
                                 idempotency_key="k", request_sha256="0" * 64, kind="document",
                                 now=NOW, lease_for=timedelta(minutes=1))  # fmt: skip
    attempt_id, lease = claimed.attempt.id, claimed.attempt.lease
    with books.work() as session:
        held = session.get(SigningAttempt, attempt_id)
        assert held is not None
        attempts.mark(session, attempt_id, lease, AttemptState.SIGNED, now=NOW,
                      lease_for=timedelta(minutes=5))  # fmt: skip
        assert (held.state, held.expires_at) == ("signed", NOW + timedelta(minutes=5))
        assert not attempts.renew(session, attempt_id, "not-the-lease", now=NOW,
                                  lease_for=timedelta(minutes=9))  # fmt: skip
        assert held.expires_at == NOW + timedelta(minutes=5)
    with books.work() as session:
        again = session.get(SigningAttempt, attempt_id)
        assert again is not None
        assert (again.state, again.expires_at) == ("signed", NOW + timedelta(minutes=5))


def test_audit_records_in_one_transaction_chain_and_a_loaded_head_follows(books: Books) -> None:
    with books.work() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        before = head.seq
        first = record_audit(session, at=NOW, actor="test", action="test.one", target="a")
        second = record_audit(session, at=NOW, actor="test", action="test.two", target="b")
        assert (first.seq, second.seq) == (before + 1, before + 2)
        assert second.prev_hash == first.hash
        assert first.id is not None
        assert second.id is not None
        assert (head.seq, head.hash) == (second.seq, second.hash)
    with books.work() as session:
        assert verify_audit_chain(session).intact


def test_two_wallet_entries_in_one_transaction_chain_their_balances(books: Books) -> None:
    payer = books.payer(funds=10_000, now=NOW)
    with books.work() as session:
        account = locked_account(session, payer.account_id)
        first = post_entry(
            session,
            account,
            kind="charge",
            amount=-1_500,
            reference=f"a-{payer.account_id}",
            now=NOW,
        )
        second = post_entry(
            session,
            account,
            kind="charge",
            amount=-2_500,
            reference=f"b-{payer.account_id}",
            now=NOW,
        )
        assert (first.balance_after, second.balance_after, account.balance) == (8_500, 6_000, 6_000)
        assert first.id is not None
        assert second.id is not None
        assert second.id > first.id
    with books.work() as session:
        assert locked_account(session, payer.account_id).balance == 6_000
