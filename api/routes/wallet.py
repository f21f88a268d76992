"""The caller's money: wallet, usage with running totals, packs, top-ups, invoices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel
from sqlmodel import col, func, select

from api.billing_schemas import (
    InvoiceOut,
    LedgerEntryOut,
    PackOffer,
    PackOut,
    PackRequest,
    PaymentStarted,
    WalletOut,
    WalletTopUpRequest,
)
from api.billing_views import (
    invoice_out,
    invoice_pdf_response,
    own_invoices,
    personal_account,
    wallet_out,
)
from api.deps import ReadSessionDep, RuntimeDep, ServicesDep, require_roles, utc_now
from api.usecases import buy_pack, top_up
from api.usecases.buy_pack import BuyPack
from api.usecases.payer import payer_for
from api.usecases.top_up import ConfirmPayment, StartTopUp
from billing.accounts import peek_account
from billing.errors import PaymentsDisabled
from billing.metering import usage_of
from billing.models import UsageEvent
from billing.payments import FakePaymentProvider
from billing.plans import plan_in_force
from identity.models import Role
from identity.sessions import Principal
from identity.signing_requests import sponsored_signatures

__all__ = ["router"]

router = APIRouter(tags=["wallet"])

Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN.value))]
Anyone = Annotated[Principal, Depends(require_roles(*[r.value for r in Role]))]


class UsageOut(BaseModel):
    product: str
    amount: int
    quantity: int
    signature_id: str | None
    plan: str | None
    tier: str | None
    funding: str | None
    purpose: str | None
    running_total: int
    """What the caller had spent up to and including this event."""
    created_at: str
    paid_by: str | None = None
    """The portal that sponsored this signature (its ``amount`` is then 0 to the caller)."""


class UsagePage(BaseModel):
    items: list[UsageOut]
    total_amount: int


@router.get("/v1/me/usage", summary="Your metered usage, newest first (zero-priced included)")
def my_usage(caller: Anyone, session: ReadSessionDep) -> UsagePage:
    events = usage_of(session, caller.user.id)
    oldest = events[-1].id if events else 0
    before = session.exec(
        select(func.coalesce(func.sum(UsageEvent.amount), 0)).where(
            UsageEvent.user_id == caller.user.id, col(UsageEvent.id) < (oldest or 0)
        )
    ).one()
    running, items = int(before), []
    sponsored = sponsored_signatures(session, caller.user.id)
    for event in reversed(events):
        paid_by = sponsored.get(event.signature_id or "")
        amount = 0 if paid_by else event.amount
        running += amount
        items.append(
            UsageOut(
                product=event.product,
                amount=amount,
                paid_by=paid_by,
                quantity=event.quantity,
                signature_id=event.signature_id,
                plan=f"{event.plan_code} v{event.plan_version}" if event.plan_code else None,
                tier=event.tier,
                funding=event.funding,
                purpose=event.purpose,
                running_total=running,
                created_at=event.created_at.isoformat(),
            )
        )
    items.reverse()
    return UsagePage(items=items, total_amount=running)


@router.get("/v1/me/wallet", summary="Your wallet: balance, plan, packs, latest movements")
def my_wallet(caller: Citizen, session: ReadSessionDep, runtime: RuntimeDep) -> WalletOut:
    return wallet_out(session, caller.user, runtime.settings, utc_now())


@router.get("/v1/me/packs", summary="Packs on offer under your plan")
def pack_offers(caller: Citizen, session: ReadSessionDep) -> list[PackOffer]:
    payer = payer_for(session, caller.user)
    now = utc_now()
    account = peek_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
    _, terms = plan_in_force(session, account.plan_code, now)
    return [
        PackOffer(code=p.code, signatures=p.signatures, price=p.price, months=p.months)
        for p in terms.packs
    ]


@router.post("/v1/me/packs", status_code=201, summary="Buy a pack of signatures from the wallet")
def buy(
    body: PackRequest,
    caller: Citizen,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> PackOut:
    command = BuyPack(user=caller.user, pack=body.pack, idempotency_key=idempotency_key)
    return PackOut.model_validate(buy_pack.buy(services, command))


def _provider(request: Request, runtime: RuntimeDep) -> FakePaymentProvider:
    if runtime.settings.payment_provider != "fake":
        raise PaymentsDisabled(
            "no payment provider is configured: ask billing staff to record your bank transfer"
        )
    return FakePaymentProvider(runtime.urls.base)


@router.post(
    "/v1/me/wallet/top-ups", status_code=201, summary="Start a top-up through the payment provider"
)
def start_top_up(
    body: WalletTopUpRequest,
    caller: Citizen,
    services: ServicesDep,
    provider: Annotated[FakePaymentProvider, Depends(_provider)],
) -> PaymentStarted:
    command = StartTopUp(user=caller.user, amount=body.amount, provider=provider)
    intent = top_up.start(services, command)
    return PaymentStarted(
        payment_id=intent.id,
        amount=intent.amount,
        provider=provider.name,
        checkout_url=provider.checkout_url(intent),
    )


@router.post(
    "/v1/payments/fake/{payment_id}/pay",
    summary="The fake provider's checkout: pays at once (development and tests only)",
)
def fake_pay(
    payment_id: str,
    caller: Citizen,
    services: ServicesDep,
    provider: Annotated[FakePaymentProvider, Depends(_provider)],
) -> LedgerEntryOut:
    command = ConfirmPayment(user=caller.user, payment_id=payment_id, provider=provider.name)
    return LedgerEntryOut.model_validate(top_up.confirm(services, command))


@router.get("/v1/me/invoices", summary="Your invoices, newest first")
def my_invoices(caller: Citizen, session: ReadSessionDep) -> list[InvoiceOut]:
    return own_invoices(session, caller.user)


@router.get("/v1/me/invoices/{invoice_id}", summary="One of your invoices")
def my_invoice(invoice_id: str, caller: Citizen, session: ReadSessionDep) -> InvoiceOut:
    return invoice_out(session, invoice_id, personal_account(session, caller.user))


@router.get(
    "/v1/me/invoices/{invoice_id}/pdf",
    response_class=Response,
    summary="One of your invoices as a PDF",
)
def my_invoice_pdf(
    invoice_id: str, caller: Citizen, session: ReadSessionDep, runtime: RuntimeDep
) -> Response:
    return invoice_pdf_response(
        session, runtime.settings, invoice_id, personal_account(session, caller.user)
    )
