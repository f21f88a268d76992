"""Recording and reading usage events."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from billing.models import UsageEvent

__all__ = ["SIGNATURE_PRODUCTS", "record_usage", "usage_of"]

SIGNATURE_PRODUCTS = {
    "B-B": "signature.B-B",
    "B-T": "signature.B-T",
    "B-LT": "signature.B-LT",
    "B-LTA": "signature.B-LTA",
}


def record_usage(
    session: Session,
    *,
    account_id: str,
    user_id: str,
    product: str,
    amount: int,
    now: datetime,
    signature_id: str | None = None,
    idempotency_key: str | None = None,
) -> UsageEvent:
    """Append a usage event in the caller's unit of work (priced by the caller; 0 until plans)."""
    if not isinstance(amount, int) or amount < 0:
        raise ValueError("amounts are non-negative integer VND")
    event = UsageEvent(
        account_id=account_id,
        user_id=user_id,
        product=product,
        amount=amount,
        signature_id=signature_id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


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
