"""How billing's records are shown over HTTP (the API's schemas), shared by the routes and
the pages: plans, invoices with their lines and credit notes, an invoice's PDF."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from fastapi import Response
from sqlmodel import Session, col, select

from api.billing_schemas import (
    CreditNoteOut,
    InvoiceLineOut,
    InvoiceOut,
    LedgerEntryOut,
    PackOut,
    PlanOut,
    WalletOut,
)
from api.settings import Settings
from api.usecases.payer import payer_for
from billing.accounts import CITIZEN, peek_account
from billing.calendar import local, month_key
from billing.charges import available_funds, counter_value
from billing.invoice_pdf import Buyer, Seller, render_invoice_pdf
from billing.invoices import credited_total, view_invoice
from billing.metering import spent_in_year, wallet_entries
from billing.models import Invoice, PricePlan, UsageEvent
from billing.packs import packs_of
from billing.payment_code import payment_code
from billing.plans import plan_in_force
from billing.reports import ReportRow, UsageFilter, to_csv, usage_events
from billing.vietqr import BankAccount
from billing.vietqr import payload as vietqr_payload
from identity.models import Organisation, User
from kernel.vietnam import VIETNAM

__all__ = [
    "csv_response",
    "invoice_out",
    "invoice_pdf_response",
    "own_invoices",
    "personal_account",
    "plan_out",
    "report_csv",
    "usage_csv",
    "usage_filter",
    "usage_rows",
    "wallet_out",
]


def plan_out(plan: PricePlan) -> PlanOut:
    assert plan.version is not None
    return PlanOut(
        code=plan.code,
        version=plan.version,
        name=plan.name,
        effective_from=plan.effective_from,
        terms=json.loads(plan.terms),
    )


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
    session: Session, settings: Settings, invoice_id: str, account_id: str | None = None
) -> Response:
    view = view_invoice(session, invoice_id, account_id=account_id)
    seller = Seller(
        name=settings.seller_name,
        tax_code=settings.seller_tax_code,
        address=settings.seller_address,
        series_letters=settings.invoice_series,
    )
    pdf = render_invoice_pdf(view, font=settings.stamp_font, seller=seller,
                             buyer=invoice_buyer(session, view.invoice))  # fmt: skip
    name = quote(f"hoa-don-{view.invoice.number}.pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


def personal_account(session: Session, user: User) -> str:
    """The account whose invoices ``user`` sees: their own; none for a member of an
    organisation (``-`` matches no invoice)."""
    payer = payer_for(session, user)
    return payer.account_id if payer.kind == CITIZEN else "-"


def own_invoices(session: Session, user: User) -> list[InvoiceOut]:
    """``user``'s invoices with their credit notes, newest month first."""
    rows = session.exec(
        select(Invoice)
        .where(Invoice.account_id == personal_account(session, user))
        .order_by(col(Invoice.period).desc())
    ).all()
    return [invoice_out(session, row.id) for row in rows]


def invoice_buyer(session: Session, invoice: Invoice) -> Buyer:
    """Who the invoice is made out to: the citizen by full name, or the organisation."""
    user = session.get(User, invoice.account_id)
    if user is not None:
        return Buyer(name=user.full_name)
    organisation = session.get(Organisation, invoice.account_id)
    if organisation is not None:
        return Buyer(name=organisation.name, tax_code=organisation.tax_code,
                     address=organisation.address)  # fmt: skip
    return Buyer(name=invoice.account_label or invoice.account_id)


def wallet_out(session: Session, user: User, settings: Settings, now: datetime) -> WalletOut:
    """The wallet of ``user``'s account (a member of an organisation sees their own use, not
    the organisation's money)."""
    payer = payer_for(session, user)
    account = peek_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
    plan, terms = plan_in_force(session, account.plan_code, now)
    yearly = settings.yearly_certificate_price
    used_allowance = counter_value(session, account.id, f"allowance:{month_key(now)}")
    if payer.kind != CITIZEN:  # a member sees their own use, not the organisation's money
        paid, signatures = spent_in_year(session, account.id, now, user_id=user.id)
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
    bank, code = receiving_account(settings), payment_code(account.id)
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
            f"Chuyển khoản vào tài khoản {bank.number} ({bank.bank_name}, {bank.holder}) với"
            f' nội dung "{code}" (hoặc quét mã VietQR trên trang Ví); tiền vào ví khi kyso'
            f" nhận sao kê ngân hàng. / Transfer to account {bank.number} ({bank.bank_name},"
            f' {bank.holder}) with the description "{code}" (or scan the VietQR code on the'
            " Wallet page); the money reaches your wallet when kyso receives the bank statement."
        ),
        payment_code=code,
        vietqr=vietqr_payload(bank, purpose=code),
    )


def receiving_account(settings: Settings) -> BankAccount:
    """The bank account top-ups are paid into."""
    return BankAccount(
        bank_name=settings.bank_name,
        bin=settings.bank_bin,
        number=settings.bank_account,
        holder=settings.bank_account_name,
    )


def csv_response(name: str, header: list[str], rows: list[list[object]]) -> Response:
    """UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese correctly."""
    return Response(
        "\ufeff" + to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def usage_filter(
    first: date | None, last: date | None, account_id: str | None, product: str | None
) -> UsageFilter:
    """The days asked for (Vietnamese days; this month so far by default)."""
    today = local(datetime.now(UTC)).date()
    return UsageFilter(
        first=first or today.replace(day=1),
        last=last or today,
        account_id=account_id or None,
        product=product or None,
    )


def usage_rows(
    session: Session, where: UsageFilter, *, limit: int, offset: int
) -> tuple[list[dict[str, object]], int]:
    """Single usage events of the period, as rows, and their total amount."""
    start = datetime.combine(where.first, datetime.min.time(), tzinfo=VIETNAM)
    end = datetime.combine(where.last + timedelta(days=1), datetime.min.time(), tzinfo=VIETNAM)
    events = usage_events(session, start=start, end=end, account_id=where.account_id,
                          product=where.product, limit=limit, offset=offset)  # fmt: skip
    user_ids = {e.user_id for e in events if e.user_id}
    account_ids = {e.account_id for e in events}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids)))}
    organisations = {o.id: o for o in session.exec(
        select(Organisation).where(col(Organisation.id).in_(account_ids)))}  # fmt: skip
    rows: list[dict[str, object]] = [
        {
            "id": e.id,
            "created_at": e.created_at.isoformat(),
            "account_id": e.account_id,
            "user_id": e.user_id,
            "product": e.product,
            "amount": e.amount,
            "quantity": e.quantity,
            "plan": e.plan_code,
            "plan_version": e.plan_version,
            "tier": e.tier,
            "funding": e.funding,
            "purpose": e.purpose,
            "signature_id": e.signature_id,
            **_readable(e, users, organisations),
        }
        for e in events
    ]
    return rows, sum(e.amount for e in events)


READABLE_COLUMNS = ("time_vietnam", "name", "cccd_last4", "organisation")
"""Columns for people, after the ones scripts read: Vietnam time, the person's name, the last
4 digits of a citizen's CCCD (never the whole number), the organisation that pays."""


def _readable(
    event: UsageEvent, users: dict[str, User], organisations: dict[str, Organisation]
) -> dict[str, object]:
    user = users.get(event.user_id or "")
    organisation = organisations.get(event.account_id)
    return {
        "time_vietnam": local(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        "name": user.full_name if user is not None else "",
        "cccd_last4": (user.cccd or "")[-4:] if user is not None else "",
        "organisation": organisation.name if organisation is not None else "",
    }


def usage_csv(rows: list[dict[str, object]]) -> Response:
    empty = ["id", "created_at", "account_id", "product", "amount", *READABLE_COLUMNS]
    header = list(rows[0]) if rows else empty
    return csv_response("usage", header, [list(r.values()) for r in rows])


def report_csv(rows: list[ReportRow], *, group: str, by: str) -> Response:
    return csv_response(
        f"usage-by-{group}-and-{by}",
        ["period", by, "label", "count", "amount_vnd"],
        [[r.period, r.key, r.label, r.count, r.amount] for r in rows],
    )
