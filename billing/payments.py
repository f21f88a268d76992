"""Top-ups paid through a payment provider. Only a fake exists here: the real providers
(VNPay, MoMo, a bank's gateway) need contracts and a network this service does not have."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from billing.errors import InvalidBillingInput, ReferenceConflict
from billing.models import LedgerEntry, PaymentIntent
from billing.wallet import MAX_TOP_UP, top_up

__all__ = ["FakePaymentProvider", "PaymentProvider", "confirm_payment", "start_payment"]


class PaymentProvider(Protocol):
    """What kyso needs from a payment provider."""

    name: str

    def checkout_url(self, intent: PaymentIntent) -> str:
        """Where the citizen goes to pay ``intent``."""
        ...


class FakePaymentProvider:
    """A stand-in for a payment provider, for development and tests only: its checkout page is
    kyso's own, and 'paying' there confirms the payment at once. Never enabled in production."""

    name = "fake"

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")

    def checkout_url(self, intent: PaymentIntent) -> str:
        return f"{self._base_url}/v1/payments/fake/{intent.id}/pay"


def start_payment(
    session: Session, account_id: str, amount: int, provider: PaymentProvider, now: datetime
) -> PaymentIntent:
    if not isinstance(amount, int) or not 10_000 <= amount <= MAX_TOP_UP:
        raise InvalidBillingInput(f"a top-up is from 10,000 to {MAX_TOP_UP:,} VND", field="amount")
    intent = PaymentIntent(
        account_id=account_id, provider=provider.name, amount=amount, created_at=now
    )
    session.add(intent)
    session.flush()
    return intent


def confirm_payment(
    session: Session, intent_id: str, *, provider: str, account_id: str, now: datetime
) -> LedgerEntry:
    """The provider says ``intent_id`` is paid: credit it once (a repeat returns the entry)."""
    intent = session.get(PaymentIntent, intent_id, with_for_update=True)
    if intent is None or intent.provider != provider or intent.account_id != account_id:
        raise InvalidBillingInput("no such payment", field="payment")
    entry, _ = top_up(
        session,
        intent.account_id,
        amount=intent.amount,
        reference=f"{provider}:{intent.id}",
        actor=f"provider:{provider}",
        now=now,
    )
    if entry.amount != intent.amount:
        raise ReferenceConflict(
            "the payment was recorded differently", reference=f"{provider}:{intent.id}"
        )
    intent.status, intent.paid_at = "paid", intent.paid_at or now
    session.add(intent)
    return entry
