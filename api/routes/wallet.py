"""The caller's money: wallet, usage with running totals, packs, top-ups, invoices."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from api.billing_schemas import (
    CreditNoteOut,
    InvoiceLineOut,
    InvoiceOut,
    LedgerEntryOut,
    PackOffer,
    PackOut,
    PackRequest,
    PaymentStarted,
    PlanOut,
    WalletOut,
    WalletTopUpRequest,
)
from api.deps import (
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    require_roles,
    require_roles_reading,
    utc_now,
)
from api.errors import OrganisationMoney, PaymentsDisabled
from api.payers import payer_for
from billing.accounts import CITIZEN, open_account, peek_account
from billing.calendar import month_key
from billing.charges import available_funds, counter_value
from billing.invoice_pdf import render_invoice_pdf
from billing.invoices import credited_total, view_invoice
from billing.metering import spent_in_year, usage_of, wallet_entries
from billing.models import Invoice, PricePlan, UsageEvent
from billing.packs import buy_pack, packs_of
from billing.payments import FakePaymentProvider, confirm_payment, start_payment
from billing.plans import plan_in_force
from identity.models import Role
from identity.sessions import Principal

__all__ = ["invoice_out", "plan_out", "router"]

router = APIRouter(tags=["wallet"])

Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN.value))]
ReadingCitizen = Annotated[Principal, Depends(require_roles_reading(Role.CITIZEN.value))]
Anyone = Annotated[Principal, Depends(require_roles_reading(*[r.value for r in Role]))]


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


class UsagePage(BaseModel):
    items: list[UsageOut]
    total_amount: int


def plan_out(plan: PricePlan) -> PlanOut:
    assert plan.version is not None
    return PlanOut(
        code=plan.code,
        version=plan.version,
        name=plan.name,
        effective_from=plan.effective_from,
        terms=json.loads(plan.terms),
    )


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
    for event in reversed(events):
        running += event.amount
        items.append(
            UsageOut(
                product=event.product,
                amount=event.amount,
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
def my_wallet(caller: ReadingCitizen, session: ReadSessionDep, runtime: RuntimeDep) -> WalletOut:
    now = utc_now()
    payer = payer_for(session, caller.user)
    account = peek_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
    plan, terms = plan_in_force(session, account.plan_code, now)
    yearly = runtime.settings.yearly_certificate_price
    used_allowance = counter_value(session, account.id, f"allowance:{month_key(now)}")
    if payer.kind != CITIZEN:  # a member sees their own use, not the organisation's money
        paid, signatures = spent_in_year(session, account.id, now, user_id=caller.user.id)
        return WalletOut(
            account_id=account.id,
            kind=account.kind,
            balance=None,
            available=None,
            prepaid=False,
            credit_limit=None,
            plan=plan_out(plan),
            paid_this_year=paid,
            signatures_this_year=signatures,
            yearly_certificate_price=yearly,
            saved_against_yearly_certificate=yearly - paid,
            public_service_allowance_left=0,
            packs=[],
            entries=[],
            top_up_instructions="Chữ ký của bạn do tổ chức thanh toán theo hóa đơn. / Your "
            "organisation pays for your signatures by invoice.",
        )
    paid, signatures = spent_in_year(session, account.id, now)
    return WalletOut(
        account_id=account.id,
        kind=account.kind,
        balance=account.balance,
        available=available_funds(session, account, now),
        prepaid=account.credit_limit == 0,
        credit_limit=account.credit_limit,
        plan=plan_out(plan),
        paid_this_year=paid,
        signatures_this_year=signatures,
        yearly_certificate_price=yearly,
        saved_against_yearly_certificate=yearly - paid,
        public_service_allowance_left=max(0, terms.public_service_allowance - used_allowance),
        packs=[PackOut.model_validate(p) for p in packs_of(session, account.id, now)],
        entries=[LedgerEntryOut.model_validate(e) for e in wallet_entries(session, account.id)],
        top_up_instructions=(
            f'Chuyển khoản vào tài khoản của kyso với nội dung "KYSO {account.id[:8].upper()}";'
            " nhân viên thu phí ghi nhận khoản nạp vào ví của bạn. / Transfer to kyso's bank "
            f'account with the reference "KYSO {account.id[:8].upper()}"; billing staff '
            "credit it to your wallet."
        ),
    )


@router.get("/v1/me/packs", summary="Packs on offer under your plan")
def pack_offers(caller: ReadingCitizen, session: ReadSessionDep) -> list[PackOffer]:
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
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> PackOut:
    payer = payer_for(session, caller.user)
    if payer.kind != CITIZEN:
        raise OrganisationMoney(
            "packs are for personal wallets; your organisation's plan covers your signatures"
        )
    key = f"pack:{caller.user.id}:{idempotency_key}" if idempotency_key else None
    purchase = buy_pack(session, payer, body.pack, now=utc_now(), idempotency_key=key)
    return PackOut.model_validate(purchase)


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
    session: SessionDep,
    provider: Annotated[FakePaymentProvider, Depends(_provider)],
) -> PaymentStarted:
    payer = payer_for(session, caller.user)
    if payer.kind != CITIZEN:
        raise PaymentsDisabled("organisations settle their invoices by bank transfer")
    now = utc_now()
    open_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
    intent = start_payment(session, payer.account_id, body.amount, provider, now)
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
    session: SessionDep,
    provider: Annotated[FakePaymentProvider, Depends(_provider)],
) -> LedgerEntryOut:
    payer = payer_for(session, caller.user)
    entry = confirm_payment(
        session, payment_id, provider=provider.name, account_id=payer.account_id, now=utc_now()
    )
    return LedgerEntryOut.model_validate(entry)


def invoice_out(session: Session, invoice_id: str, account_id: str | None = None) -> InvoiceOut:
    view = view_invoice(session, invoice_id, account_id=account_id)
    out = InvoiceOut.model_validate(view.invoice)
    return out.model_copy(
        update={
            "lines": [InvoiceLineOut.model_validate(line) for line in view.lines],
            "credit_notes": [CreditNoteOut.model_validate(n) for n in view.credit_notes],
            "credited": credited_total(session, invoice_id),
        }
    )


def invoice_pdf_response(
    session: Session, runtime: RuntimeDep, invoice_id: str, account_id: str | None = None
) -> Response:
    view = view_invoice(session, invoice_id, account_id=account_id)
    pdf = render_invoice_pdf(
        view, font=runtime.settings.stamp_font, seller=runtime.settings.seller_name
    )
    name = quote(f"hoa-don-{view.invoice.number}.pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.get("/v1/me/invoices", summary="Your invoices, newest first")
def my_invoices(caller: ReadingCitizen, session: ReadSessionDep) -> list[InvoiceOut]:
    payer = payer_for(session, caller.user)
    if payer.kind != CITIZEN:
        return []
    rows = session.exec(
        select(Invoice)
        .where(Invoice.account_id == payer.account_id)
        .order_by(col(Invoice.period).desc())
    ).all()
    return [invoice_out(session, row.id) for row in rows]


@router.get("/v1/me/invoices/{invoice_id}", summary="One of your invoices")
def my_invoice(invoice_id: str, caller: ReadingCitizen, session: ReadSessionDep) -> InvoiceOut:
    return invoice_out(session, invoice_id, _personal_account(session, caller))


@router.get(
    "/v1/me/invoices/{invoice_id}/pdf",
    response_class=Response,
    summary="One of your invoices as a PDF",
)
def my_invoice_pdf(
    invoice_id: str, caller: ReadingCitizen, session: ReadSessionDep, runtime: RuntimeDep
) -> Response:
    return invoice_pdf_response(session, runtime, invoice_id, _personal_account(session, caller))


def _personal_account(session: Session, caller: Principal) -> str:
    payer = payer_for(session, caller.user)
    return payer.account_id if payer.kind == CITIZEN else "-"
