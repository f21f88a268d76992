"""Every price model, table-driven, on each database: tiers, packs, quotas, the allowance,
plan versions, and the Vietnamese calendar's boundaries (midnight in Vietnam is 17:00 UTC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from billing.accounts import ORGANISATION, locked_account, set_plan
from billing.charges import (
    PUBLIC_SERVICE,
    Payer,
    bump_counter,
    charge,
    charge_fee_of,
    subscribed_accounts,
)
from billing.errors import InsufficientFunds, InvalidBillingInput, ReservationLost
from billing.models import BillingAccount, LedgerEntry, UsageEvent
from billing.packs import buy_pack
from billing.plans import CITIZEN_PLAN, DEFAULT_PLANS, PlanTerms, publish_plan
from billing.reservations import charge_reserved, extend, release, reserve
from tests.billing.conftest import Books

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
LAST_NOV_SECOND = datetime(2026, 11, 30, 16, 59, 59, tzinfo=UTC)  # 23:59:59 on 30/11 in Vietnam
FIRST_DEC_SECOND = datetime(2026, 11, 30, 17, 0, 0, tzinfo=UTC)  # 00:00:00 on 1/12 in Vietnam
CITIZEN_TERMS = DEFAULT_PLANS[CITIZEN_PLAN]


def _sign(books: Books, payer: object, now: datetime = NOW, **options: object) -> UsageEvent:
    with books.work() as session:
        return charge(session, payer, "signature.B-LT", now=now, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("signed_this_year", "price", "tier"),
    [
        (0, 4_000, "tier:0+"),
        (999, 4_000, "tier:0+"),  # the 1,000th signature of the year
        (1_000, 3_000, "tier:1000+"),
        (9_999, 3_000, "tier:1000+"),
        (10_000, 2_000, "tier:10000+"),
        (99_999, 2_000, "tier:10000+"),
        (100_000, 1_000, "tier:100000+"),
        (999_999, 1_000, "tier:100000+"),
        (1_000_000, 500, "tier:1000000+"),
        (5_000_000, 500, "tier:1000000+"),
    ],
)
def test_per_use_price_steps_down_at_each_tier_boundary(
    books: Books, signed_this_year: int, price: int, tier: str
) -> None:
    payer = books.payer(funds=10_000, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "signatures:2026", signed_this_year)
    event = _sign(books, payer)
    assert (event.amount, event.tier, event.plan_code, event.plan_version) == (
        price, tier, CITIZEN_PLAN, 1,
    )  # fmt: skip
    with books.work() as session:
        assert locked_account(session, payer.account_id).balance == 10_000 - price


def test_graduated_volume_resets_with_the_vietnamese_year(books: Books) -> None:
    payer = books.payer(funds=20_000, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "signatures:2026", 1_000)
    new_year_eve = datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC)
    new_year = datetime(2026, 12, 31, 17, 0, 0, tzinfo=UTC)
    assert _sign(books, payer, new_year_eve).amount == 3_000
    assert _sign(books, payer, new_year).amount == 4_000


@pytest.mark.parametrize(
    ("signatures", "already", "cost"),
    [
        (1, 0, 4_000),
        (1_000, 0, 4_000_000),
        (2, 999, 7_000),
        (1_001, 0, 4_003_000),
        (2, 999_999, 1_500),
        (0, 0, 0),
    ],
)
def test_graduated_cost_of_a_volume(signatures: int, already: int, cost: int) -> None:
    assert CITIZEN_TERMS.graduated_cost(signatures, already=already) == cost


def test_a_signature_the_wallet_cannot_cover_is_refused_and_nothing_is_written(
    books: Books,
) -> None:
    payer = books.payer(funds=3_999, now=NOW)
    with pytest.raises(InsufficientFunds) as refused:
        _sign(books, payer, signature_id=None)
    assert refused.value.fields == {"price": 4_000, "balance": 3_999, "available": 3_999}
    with books.work() as session:
        events = session.exec(select(UsageEvent).where(UsageEvent.account_id == payer.account_id))
        assert list(events) == []
        assert locked_account(session, payer.account_id).balance == 3_999


def _hold(books: Books, payer: Payer, owner: str, now: datetime = NOW, **options: object) -> int:
    with books.work() as session:
        held = reserve(session, payer, "signature.B-T", purpose=options.get("purpose"),  # type: ignore[arg-type]
                       owner=owner, now=now, expires_at=now + timedelta(minutes=10))  # fmt: skip
        return held.amount


def test_money_held_for_a_signature_in_progress_is_not_spent_twice(books: Books) -> None:
    payer = books.payer(funds=6_000, now=NOW)
    assert _hold(books, payer, "first") == 4_000
    with pytest.raises(InsufficientFunds):
        _hold(books, payer, "second")
    later = NOW + timedelta(minutes=11)  # holds of requests that never ended lapse
    assert _hold(books, payer, "third", later) == 4_000
    with books.work() as session:
        release(session, "third")


def test_a_reserved_signature_is_charged_at_its_reserved_price_not_priced_again(
    books: Books,
) -> None:
    payer = books.payer(funds=10_000, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "signatures:2026", 999)  # the 1,000th: 4,000
    assert _hold(books, payer, "at-999") == 4_000
    with books.work() as session:  # meanwhile the year's count moves on: the price would fall
        bump_counter(session, payer.account_id, "signatures:2026", 5)
        event = charge_reserved(session, payer, "at-999", now=NOW, checked_at=NOW)
    assert (event.amount, event.tier) == (4_000, "tier:0+")
    with books.work() as session:
        assert locked_account(session, payer.account_id).balance == 6_000


def test_free_units_in_progress_are_held_too(books: Books) -> None:
    """Two requests never get the same public-service allowance unit, pack unit or quota."""
    payer = books.payer(funds=8_000, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "allowance:2026-11", 4)  # one of five left
    assert _hold(books, payer, "free", purpose=PUBLIC_SERVICE) == 0
    assert _hold(books, payer, "paid", purpose=PUBLIC_SERVICE) == 4_000  # the unit is held
    with books.work() as session:
        release(session, "free")
        release(session, "paid")


def test_a_hold_extended_by_its_owner_survives_its_first_lifetime(books: Books) -> None:
    payer = books.payer(funds=4_000, now=NOW)
    _hold(books, payer, "slow")
    with books.work() as session:
        assert extend(session, "slow", NOW + timedelta(minutes=30)) == 1
    later = NOW + timedelta(minutes=20)
    with pytest.raises(InsufficientFunds):  # still held: the wallet covers one signature
        _hold(books, payer, "other", later)
    with books.work() as session:
        assert charge_reserved(session, payer, "slow", now=NOW, checked_at=later).amount == 4_000


def test_a_lapsed_hold_whose_money_went_elsewhere_is_refused_not_overdrawn(books: Books) -> None:
    payer = books.payer(funds=4_000, now=NOW)
    _hold(books, payer, "stalled")
    later = NOW + timedelta(minutes=11)  # it lapsed and another request took the money
    _hold(books, payer, "newer", later)
    with books.work() as session, pytest.raises(ReservationLost):
        charge_reserved(session, payer, "stalled", now=NOW, checked_at=later)
    with books.work() as session:
        assert charge_reserved(session, payer, "newer", now=later, checked_at=later).amount == 4_000
        assert locked_account(session, payer.account_id).balance == 0


@pytest.mark.parametrize(
    ("used_this_month", "at", "amount", "tier"),
    [
        (0, NOW, 0, "allowance"),
        (4, NOW, 0, "allowance"),
        (5, NOW, 4_000, "tier:0+"),
        (5, LAST_NOV_SECOND, 4_000, "tier:0+"),
        (5, FIRST_DEC_SECOND, 0, "allowance"),  # a new month in Vietnam, a new allowance
    ],
)
def test_public_service_allowance_per_vietnamese_month(
    books: Books, used_this_month: int, at: datetime, amount: int, tier: str
) -> None:
    payer = books.payer(funds=4_000, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "allowance:2026-11", used_this_month)
    event = _sign(books, payer, at, purpose=PUBLIC_SERVICE)
    assert (event.amount, event.tier, event.purpose) == (amount, tier, PUBLIC_SERVICE)


def test_the_allowance_is_only_for_public_service_submissions(books: Books) -> None:
    payer = books.payer(funds=4_000, now=NOW)
    assert _sign(books, payer, purpose="general").amount == 4_000
    with pytest.raises(InvalidBillingInput):
        _sign(books, payer, purpose="free please")


def test_a_pack_pays_its_signatures_until_spent_then_per_use_resumes(books: Books) -> None:
    payer = books.payer(funds=33_000 + 4_000, now=NOW)
    with books.work() as session:
        pack = buy_pack(session, payer, "pack-10", now=NOW)
    fundings = [_sign(books, payer) for _ in range(11)]
    assert [e.amount for e in fundings] == [0] * 10 + [4_000]
    assert {e.funding for e in fundings[:10]} == {f"pack:{pack.id}"}
    with books.work() as session:
        assert locked_account(session, payer.account_id).balance == 0
        kinds = [e.kind for e in session.exec(
            select(LedgerEntry).where(LedgerEntry.account_id == payer.account_id))]  # fmt: skip
    assert kinds == ["top_up", "pack_purchase", "charge"]


@pytest.mark.parametrize(
    ("bought", "used_at", "from_pack"),
    [
        # 10:00 on 31/01 in Vietnam; a month later is the end of February, same time.
        (
            datetime(2027, 1, 31, 3, 0, tzinfo=UTC),
            datetime(2027, 2, 28, 2, 59, 59, tzinfo=UTC),
            True,
        ),
        (datetime(2027, 1, 31, 3, 0, tzinfo=UTC), datetime(2027, 2, 28, 3, 0, tzinfo=UTC), False),
        (NOW, NOW + timedelta(days=29), True),
        (NOW, NOW + timedelta(days=31), False),
    ],
)
def test_a_pack_expires_a_calendar_month_after_purchase(
    books: Books, bought: datetime, used_at: datetime, from_pack: bool
) -> None:
    payer = books.payer(funds=33_000 + 4_000, now=bought)
    with books.work() as session:
        buy_pack(session, payer, "pack-10", now=bought)
    event = _sign(books, payer, used_at)
    assert (event.tier == "pack") is from_pack
    assert event.amount == (0 if from_pack else 4_000)


def test_a_pack_the_wallet_cannot_pay_for_is_refused(books: Books) -> None:
    payer = books.payer(funds=32_999, now=NOW)
    with books.work() as session, pytest.raises(InsufficientFunds):
        buy_pack(session, payer, "pack-10", now=NOW)
    with books.work() as session, pytest.raises(InvalidBillingInput):
        buy_pack(session, payer, "pack-7", now=NOW)


@pytest.mark.parametrize(
    ("used_this_month", "amount", "tier"),
    [(0, 0, "quota"), (999, 0, "quota"), (1_000, 2_000, "overage"), (5_000, 2_000, "overage")],
)
def test_subscription_quota_then_overage(
    books: Books, used_this_month: int, amount: int, tier: str
) -> None:
    payer = books.payer(ORGANISATION, now=NOW)
    with books.work() as session:
        bump_counter(session, payer.account_id, "quota:2026-11", used_this_month)
    event = _sign(books, payer)
    assert (event.amount, event.tier) == (amount, tier)


def test_subscription_fee_is_charged_once_a_month_and_postpaid_goes_negative(books: Books) -> None:
    payer = books.payer(ORGANISATION, now=NOW)
    for at in (NOW, NOW + timedelta(hours=1), FIRST_DEC_SECOND):
        _sign(books, payer, at)
    with books.work() as session:
        fees = session.exec(select(UsageEvent).where(
            UsageEvent.account_id == payer.account_id, UsageEvent.product == "subscription.fee"
        )).all()  # fmt: skip
        assert [(f.amount, f.reference) for f in fees] == [
            (2_000_000, "fee:2026-11"), (2_000_000, "fee:2026-12"),
        ]  # fmt: skip
        assert locked_account(session, payer.account_id).balance == -4_000_000


def test_a_postpaid_account_with_a_credit_limit_stops_at_it(books: Books) -> None:
    payer = books.payer(ORGANISATION, now=NOW)
    with books.work() as session:
        set_plan(session, payer.account_id, "organisation", now=NOW, credit_limit=2_001_000)
        bump_counter(session, payer.account_id, "quota:2026-11", 1_000)
    with pytest.raises(InsufficientFunds):
        _sign(books, payer)  # fee 2,000,000 + overage 2,000 > 2,001,000
    with books.work() as session:
        assert locked_account(session, payer.account_id).balance == 0


def test_a_new_plan_version_applies_from_its_date_and_each_charge_names_its_version(
    books: Books,
) -> None:
    code = f"trial-{books.engine.dialect.name}"
    terms = PlanTerms.from_dict(
        {**_terms_json(CITIZEN_TERMS), "tiers": [{"start": 0, "price": 3_500}]}
    )
    cheaper = PlanTerms.from_dict(
        {**_terms_json(CITIZEN_TERMS), "tiers": [{"start": 0, "price": 2_500}]}
    )
    change = NOW + timedelta(days=2)
    with books.work() as session:
        publish_plan(session, code, terms, effective_from=NOW - timedelta(seconds=1),
                     now=NOW - timedelta(seconds=2), actor="test")  # fmt: skip
        publish_plan(session, code, cheaper, effective_from=change, now=NOW, actor="test")
    payer = books.payer(funds=10_000, now=NOW)
    with books.work() as session:
        set_plan(session, payer.account_id, code, now=NOW)
    before, after = _sign(books, payer, change - timedelta(seconds=1)), _sign(books, payer, change)
    assert (before.amount, before.plan_version) == (3_500, 1)
    assert (after.amount, after.plan_version) == (2_500, 2)
    with books.work() as session, pytest.raises(InvalidBillingInput):
        publish_plan(session, code, cheaper, effective_from=NOW, now=change, actor="test")


def _terms_json(terms: PlanTerms) -> dict[str, object]:
    raw: dict[str, object] = json.loads(terms.to_json())
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tiers": [{"start": 0, "price": 4000.5}]}, "no decimals"),
        ({"tiers": [{"start": 0, "price": -1}]}, "no decimals"),
        ({"tiers": [{"start": 5, "price": 100}]}, "start at 0"),
        ({"tiers": [{"start": 0, "price": 9}, {"start": 0, "price": 8}]}, "rise strictly"),
        ({"tiers": []}, "start at 0"),
        ({"flat_prices": {"timestamp": 1}}, "no price for"),
        ({"monthly_fee": 10}, "needs an overage price"),
        ({"packs": [{"code": "p", "signatures": 0, "price": 1}]}, "positive"),
        ({"packs": [{"code": "p" * 28, "signatures": 1, "price": 1}]}, "pack codes"),
        ({"packs": [{"code": "Gói 10", "signatures": 1, "price": 1}]}, "pack codes"),
    ],
)
def test_plan_terms_that_make_no_sense_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidBillingInput, match=message):
        PlanTerms.from_dict({**_terms_json(CITIZEN_TERMS), **change})


def test_free_products_of_the_default_plan_are_recorded_at_zero(books: Books) -> None:
    payer = books.payer(now=NOW)
    with books.work() as session:
        issued = charge(session, payer, "certificate.issue", now=NOW, reference="cred-1")
        verified = charge(session, payer, "verification", now=NOW)
        account = session.get(BillingAccount, payer.account_id)
        assert account is not None
        assert account.balance == 0
    assert (issued.amount, issued.funding, verified.amount) == (0, "none", 0)


def test_fees_housekeeping_ignores_plans_whose_first_version_is_still_to_come(
    books: Books,
) -> None:
    code = f"later-{books.engine.dialect.name}"
    with books.work() as session:
        publish_plan(session, code, DEFAULT_PLANS["organisation"], now=NOW, actor="test",
                     effective_from=NOW + timedelta(days=400))  # fmt: skip
    payer = books.payer(ORGANISATION, now=NOW)
    with books.work() as session:
        subscribed = subscribed_accounts(session, NOW)
    assert payer.account_id in subscribed
    for account_id in subscribed:
        with books.work() as session:
            charge_fee_of(session, account_id, NOW)
    with books.work() as session:
        assert locked_account(session, payer.account_id).balance == -2_000_000
        assert not charge_fee_of(session, payer.account_id, NOW), "the fee was charged twice"
