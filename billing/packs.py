"""Packs of signatures, bought from the wallet and used before per-use prices apply."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from billing.accounts import opened_and_locked
from billing.calendar import VIETNAM, add_months, local
from billing.charges import Payer, available_funds, book, refuse_unless_covered
from billing.models import PackPurchase, UsageEvent
from billing.plans import plan_in_force
from kernel.errors import IdempotencyConflict

__all__ = ["buy_pack", "packs_of"]


def _months_later(at: datetime, months: int) -> datetime:
    """The same Vietnamese wall-clock time ``months`` calendar months later."""
    here = local(at)
    day = add_months(here.date(), months)
    return datetime.combine(day, here.timetz().replace(tzinfo=None), tzinfo=VIETNAM).astimezone(
        at.tzinfo
    )


def buy_pack(
    session: Session,
    payer: Payer,
    pack_code: str,
    *,
    now: datetime,
    idempotency_key: str | None = None,
) -> PackPurchase:
    """Buy a pack of the account's plan from the wallet: one usage event (product
    ``pack.<code>``) and its ledger entry, in the caller's transaction. The same
    ``idempotency_key`` again returns the first purchase (``IdempotencyConflict`` when it
    named another pack)."""
    account = opened_and_locked(
        session, payer.account_id, kind=payer.kind, label=payer.label, now=now
    )
    if idempotency_key is not None:
        earlier = session.exec(
            select(PackPurchase)
            .join(UsageEvent, col(UsageEvent.reference) == col(PackPurchase.id))
            .where(UsageEvent.idempotency_key == idempotency_key)
        ).first()
        if earlier is not None:
            if earlier.pack_code != pack_code:
                raise IdempotencyConflict(
                    "this Idempotency-Key bought another pack", earlier=earlier.pack_code
                )
            return earlier
    plan, terms = plan_in_force(session, account.plan_code, now)
    assert plan.version is not None
    pack = terms.pack(pack_code)
    refuse_unless_covered(pack.price, available_funds(session, account, now), account)
    purchase = PackPurchase(
        account_id=account.id,
        pack_code=pack.code,
        signatures=pack.signatures,
        price=pack.price,
        plan_code=plan.code,
        plan_version=plan.version,
        valid_from=now,
        valid_until=_months_later(now, pack.months),
        created_at=now,
    )
    session.add(purchase)
    event = UsageEvent(
        account_id=account.id,
        user_id=payer.user_id,
        product=f"pack.{pack.code}",
        amount=pack.price,
        plan_code=plan.code,
        plan_version=plan.version,
        tier="pack-sale",
        funding="wallet",
        reference=purchase.id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    book(session, account, event, entry_kind="pack_purchase", reference=f"pack:{purchase.id}")
    return purchase


def packs_of(
    session: Session, account_id: str, now: datetime, *, include_spent: bool = False
) -> list[PackPurchase]:
    """The account's packs, soonest to expire first (only the usable ones by default)."""
    query = select(PackPurchase).where(PackPurchase.account_id == account_id)
    if not include_spent:
        query = query.where(
            col(PackPurchase.valid_until) > now,
            col(PackPurchase.used) < col(PackPurchase.signatures),
        )
    else:
        query = query.where(col(PackPurchase.valid_until) > now - timedelta(days=366))
    return list(session.exec(query.order_by(col(PackPurchase.valid_until))))
