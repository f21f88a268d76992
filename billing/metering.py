"""Reading what an account used and how its wallet moved."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from billing.calendar import year_bounds, year_key
from billing.models import LedgerEntry, UsageEvent
from billing.plans import SIGNING_PRODUCTS

__all__ = ["spent_in_year", "usage_of", "wallet_entries"]


def usage_of(session: Session, user_id: str, *, limit: int = 200) -> list[UsageEvent]:
    """A user's usage events, newest first."""
    return list(
        session.exec(
            select(UsageEvent)
            .where(UsageEvent.user_id == user_id)
            .order_by(col(UsageEvent.created_at).desc(), col(UsageEvent.id).desc())
            .limit(limit)
        )
    )


def wallet_entries(session: Session, account_id: str, *, limit: int = 50) -> list[LedgerEntry]:
    """An account's latest ledger entries, newest first (each with the balance after it)."""
    return list(
        session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account_id)
            .order_by(col(LedgerEntry.id).desc())
            .limit(limit)
        )
    )


def spent_in_year(
    session: Session, account_id: str, now: datetime, *, user_id: str | None = None
) -> tuple[int, int]:
    """(VND paid, signatures made) by the account (or one of its users) in the Vietnamese
    calendar year of ``now``."""
    start, end = year_bounds(int(year_key(now)))
    query = select(
        func.coalesce(func.sum(UsageEvent.amount), 0),
        func.count(col(UsageEvent.id)).filter(col(UsageEvent.product).in_(SIGNING_PRODUCTS)),
    ).where(
        UsageEvent.account_id == account_id,
        col(UsageEvent.created_at) >= start,
        col(UsageEvent.created_at) < end,
    )
    if user_id is not None:
        query = query.where(col(UsageEvent.user_id) == user_id)
    amount, count = session.execute(query).one()
    return int(amount), int(count)
