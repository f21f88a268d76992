"""Pricing an act under the account's plan and charging it.

Prices count what requests in progress hold (``billing.reservations``), and every step runs
under the account's row lock, so two requests of one account never both spend the same money,
pack or quota, on any number of server processes.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, func, select

from billing.accounts import locked_account, opened_and_locked
from billing.calendar import day_key, month_key, year_key
from billing.errors import InsufficientFunds, InvalidBillingInput, PeriodClosed, PlanNotFound
from billing.models import (
    BillingAccount,
    ChargeHold,
    Invoice,
    PackPurchase,
    PricePlan,
    UsageCounter,
    UsageDaily,
    UsageEvent,
    UsageRollup,
)
from billing.plans import FLAT_PRODUCTS, SIGNING_PRODUCTS, PlanTerms, plan_in_force
from billing.wallet import post_entry

__all__ = [
    "PUBLIC_SERVICE",
    "Held",
    "Payer",
    "Quote",
    "available_funds",
    "book",
    "bump_counter",
    "charge",
    "charge_fee_of",
    "charge_monthly_fee",
    "charge_priced",
    "counter_value",
    "held_units",
    "quote",
    "refuse_if_closed",
    "refuse_unless_covered",
    "subscribed_accounts",
]

PUBLIC_SERVICE = "public_service"
"""The purpose flag of a submission to a public service (the monthly free allowance)."""
PURPOSES = (PUBLIC_SERVICE, "general")
DAILY_SHARDS = 16


@dataclass(frozen=True)
class Payer:
    """Who is charged and who acted."""

    account_id: str
    """The citizen's own account, or their organisation's."""
    kind: str
    """``citizen`` or ``organisation``: the plan an account starts on."""
    label: str
    """How people recognise the account in reports and on invoices."""
    user_id: str


@dataclass(frozen=True)
class Quote:
    """The price of one act under the plan in force, and what pays for it."""

    amount: int
    tier: str
    funding: str
    plan_code: str
    plan_version: int
    counters: tuple[str, ...] = ()
    pack_id: str | None = None


@dataclass
class Held:
    """What requests in progress hold: money, and free units by usage counter and by pack."""

    amount: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    packs: Counter[str] = field(default_factory=Counter)


def held_units(session: Session, account_id: str, now: datetime) -> Held:
    """What the account's live holds add up to (one query)."""
    rows = session.execute(_HELD, {"account_id": account_id, "now": now}).all()
    held = Held()
    for counter, pack_id, count, amount in rows:
        held.amount += int(amount or 0)
        if counter is not None:
            held.counters[counter] += int(count)
        if pack_id is not None:
            held.packs[pack_id] += int(count)
    return held


_HELD = (
    select(ChargeHold.counter, ChargeHold.pack_id, func.count(), func.sum(ChargeHold.amount))
    .where(ChargeHold.account_id == bindparam("account_id"),
           col(ChargeHold.expires_at) > bindparam("now"))
    .group_by(col(ChargeHold.counter), col(ChargeHold.pack_id))
)  # fmt: skip


def counter_value(session: Session, account_id: str, name: str) -> int:
    counter = session.get(UsageCounter, (account_id, name))
    return counter.count if counter is not None else 0


def bump_counter(session: Session, account_id: str, name: str, by: int = 1) -> None:
    """Raise a counter; only under the account's lock, so no two writers race to create it.
    One upsert; a counter the session holds shows its new count."""
    dialect = session.get_bind().dialect.name
    session.execute(_counter_upsert(dialect), {"account_id": account_id, "name": name, "by": by})
    held = session.identity_map.get(identity_key(UsageCounter, (account_id, name)))
    if held is not None:
        set_committed_value(held, "count", held.count + by)


@cache
def _counter_upsert(dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO UPDATE count = count + by``, built once per dialect."""
    rows = UsageCounter.__table__  # type: ignore[attr-defined]
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rows)
    statement = insert.values(account_id=bindparam("account_id"), name=bindparam("name"),
                              count=bindparam("by"))  # fmt: skip
    return statement.on_conflict_do_update(
        index_elements=["account_id", "name"],
        set_={"count": rows.c.count + statement.excluded.count},
    )


def _usable_pack(
    session: Session, account_id: str, now: datetime, held: Held
) -> PackPurchase | None:
    """The pack that expires first with a unit neither used nor held."""
    packs = session.exec(_USABLE_PACKS, params={"account_id": account_id, "now": now})
    return next((p for p in packs if p.used + held.packs[p.id] < p.signatures), None)


_USABLE_PACKS = (
    select(PackPurchase)
    .where(
        PackPurchase.account_id == bindparam("account_id"),
        col(PackPurchase.valid_from) <= bindparam("now"),
        col(PackPurchase.valid_until) > bindparam("now"),
        col(PackPurchase.used) < col(PackPurchase.signatures),
    )
    .order_by(col(PackPurchase.valid_until), col(PackPurchase.id))
)


def quote(
    session: Session,
    account: BillingAccount,
    product: str,
    *,
    purpose: str | None,
    now: datetime,
    held: Held | None = None,
) -> Quote:
    """Price one ``product`` for ``account`` now. Signatures are paid, in this order, by the
    public-service allowance (when flagged), a valid pack, the subscription's quota, and
    otherwise the per-use tier (or the overage price) from the wallet; the units that requests
    in progress hold count as used."""
    if purpose is not None and purpose not in PURPOSES:
        raise InvalidBillingInput(f"purpose must be one of {', '.join(PURPOSES)}", field="purpose")
    plan, terms = plan_in_force(session, account.plan_code, now)
    assert plan.version is not None
    amount, tier, funding, counters, pack_id = _price(
        session, account, terms, product, purpose=purpose, now=now, held=held
    )
    if amount == 0 and funding == "wallet":
        funding = "none"
    return Quote(amount, tier, funding, plan.code, plan.version, counters, pack_id)


_Priced = tuple[int, str, str, tuple[str, ...], str | None]


def _price(
    session: Session,
    account: BillingAccount,
    terms: PlanTerms,
    product: str,
    *,
    purpose: str | None,
    now: datetime,
    held: Held | None,
) -> _Priced:
    if product in FLAT_PRODUCTS:
        return terms.flat_prices[product], "flat", "wallet", (), None
    if product not in SIGNING_PRODUCTS:
        raise InvalidBillingInput(f"unknown product {product!r}", field="product")
    held = held if held is not None else held_units(session, account.id, now)

    def count(name: str) -> int:
        return counter_value(session, account.id, name) + held.counters[name]

    month = month_key(now)
    allowance = f"allowance:{month}"
    if purpose == PUBLIC_SERVICE and count(allowance) < terms.public_service_allowance:
        return 0, "allowance", "allowance", (allowance,), None
    pack = _usable_pack(session, account.id, now, held)
    if pack is not None:
        return 0, "pack", f"pack:{pack.id}", (), pack.id
    if terms.is_subscription:
        quota = f"quota:{month}"
        if count(quota) < terms.included_signatures:
            return 0, "quota", "quota", (quota,), None
        assert terms.overage_price is not None
        return terms.overage_price, "overage", "wallet", (quota,), None
    yearly = f"signatures:{year_key(now)}"
    tier = terms.tier_for(count(yearly))
    return tier.price, tier.name, "wallet", (yearly,), None


def available_funds(
    session: Session, account: BillingAccount, now: datetime, *, held: Held | None = None
) -> int | None:
    """What the account can still spend (``None``: unlimited, a postpaid account without a
    limit): the balance plus any credit limit, less the holds of requests in progress."""
    if account.credit_limit is None:
        return None
    holding = held.amount if held is not None else held_units(session, account.id, now).amount
    return account.balance + account.credit_limit - holding


def refuse_unless_covered(price: int, available: int | None, account: BillingAccount) -> None:
    if price > 0 and available is not None and price > available:
        raise InsufficientFunds(
            f"the wallet does not cover this: it costs {price:,} VND and "
            f"{max(available, 0):,} VND is available; top up first",
            price=price,
            balance=account.balance,
            available=max(available, 0),
        )


def charge(
    session: Session,
    payer: Payer,
    product: str,
    *,
    now: datetime,
    purpose: str | None = None,
    signature_id: str | None = None,
    idempotency_key: str | None = None,
    reference: str | None = None,
) -> UsageEvent:
    """Price and charge one act at once, in the caller's transaction (for acts with no slow
    work between their price and their charge; the others hold it first, see
    ``billing.reservations``): the usage event, the wallet's ledger entry, the pack, quota or
    allowance used, and the day's rollup. ``InsufficientFunds`` when it is not covered, and the
    caller's transaction rolls back with nothing written."""
    account = opened_and_locked(
        session, payer.account_id, kind=payer.kind, label=payer.label, now=now
    )
    refuse_if_closed(session, account.id, now)
    charge_monthly_fee(session, account, now)
    held = held_units(session, account.id, now)
    priced = quote(session, account, product, purpose=purpose, now=now, held=held)
    refuse_unless_covered(priced.amount, available_funds(session, account, now, held=held), account)
    return charge_priced(session, account, payer, product, priced, now=now, purpose=purpose,
                         signature_id=signature_id, idempotency_key=idempotency_key,
                         reference=reference)  # fmt: skip


def charge_priced(
    session: Session,
    account: BillingAccount,
    payer: Payer,
    product: str,
    priced: Quote,
    *,
    now: datetime,
    purpose: str | None,
    signature_id: str | None = None,
    idempotency_key: str | None = None,
    reference: str | None = None,
) -> UsageEvent:
    """Charge one act at the price it was given, on a locked account: the usage event, the
    wallet's ledger entry, the counter and the pack unit it used."""
    event = UsageEvent(
        account_id=account.id,
        user_id=payer.user_id,
        product=product,
        amount=priced.amount,
        plan_code=priced.plan_code,
        plan_version=priced.plan_version,
        tier=priced.tier,
        funding=priced.funding,
        purpose=purpose,
        reference=reference,
        signature_id=signature_id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    book(session, account, event, entry_kind="charge")
    for name in priced.counters:
        bump_counter(session, account.id, name)
    if priced.pack_id is not None:
        pack = session.get(PackPurchase, priced.pack_id)
        assert pack is not None
        pack.used += 1
        session.add(pack)
    session.flush()
    return event


def book(
    session: Session,
    account: BillingAccount,
    event: UsageEvent,
    *,
    entry_kind: str,
    reference: str | None = None,
) -> UsageEvent:
    """Write a priced event on a locked account: the event, its rollups and, when it costs
    anything, the wallet's debit (``reference`` defaults to ``usage:<event id>``)."""
    session.add(event)
    session.flush()
    assert event.id is not None
    add_to_rollup(session, event)
    if event.amount:
        post_entry(
            session,
            account,
            kind=entry_kind,
            amount=-event.amount,
            reference=reference or f"usage:{event.id}",
            now=event.created_at,
            usage_event_id=event.id,
        )
    return event


def add_to_rollup(session: Session, event: UsageEvent) -> None:
    """Count the event in its account's day and in the service's day (atomic upserts: the
    service's day is shared by every account in its shard)."""
    day = day_key(event.created_at)
    dialect = session.get_bind().dialect.name
    counted = {"count": event.quantity, "amount": event.amount}
    session.execute(
        _rollup_upsert(dialect, UsageRollup),
        {"account_id": event.account_id, "product": event.product, "day": day, **counted},
    )
    shard = zlib.crc32(event.account_id.encode()) % DAILY_SHARDS
    session.execute(
        _rollup_upsert(dialect, UsageDaily),
        {"product": event.product, "day": day, "shard": shard, **counted},
    )


@cache
def _rollup_upsert(dialect: str, table: type[UsageRollup] | type[UsageDaily]) -> Insert:
    """``INSERT … ON CONFLICT (its keys) DO UPDATE`` adding ``count`` and ``amount``, built once
    per dialect and table with bound parameters (built anew for every charge, the two
    statements cost ten times what executing them does)."""
    rows = table.__table__  # type: ignore[union-attr]
    keys = [column.name for column in rows.primary_key.columns]
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rows)
    statement = insert.values({name: bindparam(name) for name in (*keys, "count", "amount")})
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={
            "count": rows.c.count + statement.excluded.count,
            "amount": rows.c.amount + statement.excluded.amount,
        },
    )


def refuse_if_closed(session: Session, account_id: str, now: datetime) -> None:
    """Nothing is added to a month already invoiced (closing locks the account's row too)."""
    period = month_key(now)
    if session.execute(_INVOICED, {"account_id": account_id, "period": period}).first():
        raise PeriodClosed(f"the billing period {period} is closed; try again", period=period)


_INVOICED = select(Invoice.id).where(
    Invoice.account_id == bindparam("account_id"), Invoice.period == bindparam("period")
)


def charge_monthly_fee(
    session: Session, account: BillingAccount, now: datetime
) -> UsageEvent | None:
    """A subscription's fee for the month of ``now``, once (the first charge of the month or
    the housekeeping task writes it); ``account`` must be locked."""
    plan, terms = plan_in_force(session, account.plan_code, now)
    if not terms.is_subscription:
        return None
    counter = f"fee:{month_key(now)}"
    if counter_value(session, account.id, counter):
        return None
    assert plan.version is not None
    event = UsageEvent(
        account_id=account.id,
        user_id=account.id,
        product="subscription.fee",
        amount=terms.monthly_fee,
        plan_code=plan.code,
        plan_version=plan.version,
        tier="fee",
        funding="wallet" if terms.monthly_fee else "none",
        reference=counter,
        created_at=now,
    )
    book(
        session,
        account,
        event,
        entry_kind="subscription_fee",
        reference=f"fee:{account.id}:{month_key(now)}",
    )
    bump_counter(session, account.id, counter)
    return event


def subscribed_accounts(session: Session, now: datetime) -> list[str]:
    """Accounts whose plan in force now is a subscription."""
    codes = set()
    for code in set(session.exec(select(PricePlan.code))):
        try:
            if plan_in_force(session, code, now)[1].is_subscription:
                codes.add(code)
        except PlanNotFound:  # only future versions so far
            continue
    query = select(BillingAccount.id).where(col(BillingAccount.plan_code).in_(codes))
    return list(session.exec(query.order_by(col(BillingAccount.id))))


def charge_fee_of(session: Session, account_id: str, now: datetime) -> bool:
    """The month's fee of one subscribed account, if not charged yet (its own transaction:
    the caller's unit of work)."""
    return charge_monthly_fee(session, locked_account(session, account_id), now) is not None
