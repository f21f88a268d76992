"""Monthly invoices and credit notes: gapless numbers, VAT, a closed month never edited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from billing.accounts import locked_account
from billing.calendar import local, month_bounds, month_key, parse_month
from billing.errors import CreditExceedsInvoice, InvalidBillingInput, InvoiceNotFound, PeriodNotOver
from billing.models import CreditNote, Invoice, InvoiceLine, NumberSeries, UsageEvent, UsageRollup
from billing.wallet import post_entry

__all__ = [
    "CLOSE_GRACE",
    "InvoiceView",
    "close_period",
    "credited_total",
    "issue_credit_note",
    "next_number",
    "vat_split",
    "view_invoice",
]

CLOSE_GRACE = timedelta(minutes=5)
"""A month can be closed this long after it ends in Vietnam: signatures begun in its last
second have committed by then (and a charge into a closed month is refused anyway)."""


def vat_split(gross: int, vat_percent: int) -> tuple[int, int]:
    """A VAT-inclusive amount → (net, VAT), rounding the net half up to the đồng."""
    if vat_percent < 0:
        raise InvalidBillingInput("a VAT rate is a non-negative percentage")
    divisor = 100 + vat_percent
    net = (gross * 200 + divisor) // (2 * divisor)
    return net, gross - net


def next_number(session: Session, series: str, prefix: str) -> str:
    """The next number of ``series``, taken under the series row's lock, in the transaction
    that writes the document: a rolled-back document leaves no gap."""
    row = _locked_series(session, series)
    row.last += 1
    session.add(row)
    session.flush()
    return f"{prefix}{row.last:06d}"


def _locked_series(session: Session, series: str) -> NumberSeries:
    """The series row, created if it is new (without two creators colliding), then locked."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(NumberSeries)
    session.execute(
        insert.values(name=series, last=0).on_conflict_do_nothing(index_elements=["name"])
    )
    return session.exec(
        select(NumberSeries)
        .where(NumberSeries.name == series)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def close_period(
    session: Session, period: str, *, now: datetime, vat_percent: int
) -> list[Invoice]:
    """Invoice the Vietnamese calendar month ``period`` (``YYYY-MM``) for every account that
    owes something for it and has no invoice for it yet; the new invoices, in number order.
    An account whose month came to 0 ₫ (free signatures only) gets no invoice."""
    start, end = month_bounds(period)
    if now < end + CLOSE_GRACE:
        raise PeriodNotOver(
            f"{period} can be closed from {local(end + CLOSE_GRACE):%d/%m/%Y %H:%M} (Vietnam time)",
            period=period,
        )
    first, last = parse_month(period).isoformat(), (local(end) - timedelta(days=1)).date()
    accounts = session.exec(
        select(UsageRollup.account_id)
        .distinct()
        .where(col(UsageRollup.day) >= first, col(UsageRollup.day) <= last.isoformat())
        .order_by(col(UsageRollup.account_id))
    ).all()
    _locked_series(session, f"invoice:{period[:4]}")  # closes of one year queue here first
    made = []
    for account_id in accounts:
        account = locked_account(session, account_id)  # waits for a charge in flight
        if session.exec(
            select(Invoice.id).where(Invoice.account_id == account_id, Invoice.period == period)
        ).first():
            continue
        lines = _lines(session, account_id, start, end)
        total = sum(line.amount for line in lines)
        if total == 0:
            continue
        net, vat = vat_split(total, vat_percent)
        invoice = Invoice(
            number=next_number(session, f"invoice:{period[:4]}", f"HD{period[:4]}-"),
            account_id=account_id,
            account_label=account.label,
            period=period,
            period_start=start,
            period_end=end,
            vat_percent=vat_percent,
            net=net,
            vat=vat,
            total=total,
            issued_at=now,
        )
        session.add(invoice)
        session.flush()
        for line in lines:
            line.invoice_id = invoice.id
            session.add(line)
        made.append(invoice)
    session.flush()
    return made


def _lines(session: Session, account_id: str, start: datetime, end: datetime) -> list[InvoiceLine]:
    rows = session.execute(
        sa_select(
            col(UsageEvent.product),
            col(UsageEvent.tier),
            col(UsageEvent.amount),
            func.sum(UsageEvent.quantity),
            func.sum(UsageEvent.amount),
        )
        .where(
            col(UsageEvent.account_id) == account_id,
            col(UsageEvent.created_at) >= start,
            col(UsageEvent.created_at) < end,
        )
        .group_by(col(UsageEvent.product), col(UsageEvent.tier), col(UsageEvent.amount))
        .order_by(col(UsageEvent.product), col(UsageEvent.tier), col(UsageEvent.amount))
    ).all()
    return [
        InvoiceLine(
            invoice_id="",
            product=product,
            tier=tier or "",
            quantity=int(quantity),
            unit_price=unit,
            amount=int(amount),
        )
        for product, tier, unit, quantity, amount in rows
    ]


def credited_total(session: Session, invoice_id: str) -> int:
    return int(
        session.exec(
            select(func.coalesce(func.sum(CreditNote.amount), 0)).where(
                CreditNote.invoice_id == invoice_id
            )
        ).one()
    )


def issue_credit_note(
    session: Session, invoice_id: str, *, amount: int | None, reason: str, actor: str, now: datetime
) -> CreditNote:
    """Credit all or part of an invoice back to the account's wallet, with a reason; the notes
    of one invoice never add up to more than its total (the invoice row is locked meanwhile)."""
    invoice = session.exec(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if invoice is None:
        raise InvoiceNotFound("no such invoice", invoice_id=invoice_id)
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidBillingInput(
            "a credit note needs a reason (up to 500 characters)", field="reason"
        )
    remaining = invoice.total - credited_total(session, invoice_id)
    amount = remaining if amount is None else amount
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise CreditExceedsInvoice(
            "nothing is left to credit on this invoice"
            if remaining == 0
            else "a credit is a positive whole amount",
            remaining=remaining,
        )
    if amount > remaining:
        raise CreditExceedsInvoice(
            f"at most {remaining:,} VND is left to credit on this invoice",
            remaining=remaining,
            asked=amount,
        )
    net, vat = vat_split(amount, invoice.vat_percent)
    if amount == remaining:  # the last note takes what is left, so the notes add up exactly
        credited_net = int(
            session.exec(
                select(func.coalesce(func.sum(CreditNote.net), 0)).where(
                    CreditNote.invoice_id == invoice_id
                )
            ).one()
        )
        net = invoice.net - credited_net
        vat = amount - net
    year = month_key(now)[:4]
    note = CreditNote(
        number=next_number(session, f"credit:{year}", f"CN{year}-"),
        invoice_id=invoice.id,
        account_id=invoice.account_id,
        amount=amount,
        net=net,
        vat=vat,
        reason=reason,
        actor=actor,
        issued_at=now,
    )
    session.add(note)
    session.flush()
    account = locked_account(session, invoice.account_id)
    post_entry(
        session,
        account,
        kind="credit_note",
        amount=amount,
        reference=f"credit:{note.number}",
        now=now,
        actor=actor,
        note=f"{invoice.number}: {reason}"[:300],
    )
    return note


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    lines: list[InvoiceLine]
    credit_notes: list[CreditNote]


def view_invoice(
    session: Session, invoice_id: str, *, account_id: str | None = None
) -> InvoiceView:
    """An invoice with its lines and credit notes (``account_id``: only if it is theirs)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or (account_id is not None and invoice.account_id != account_id):
        raise InvoiceNotFound("no such invoice", invoice_id=invoice_id)
    lines = session.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice_id)
        .order_by(col(InvoiceLine.id))
    ).all()
    notes = session.exec(
        select(CreditNote)
        .where(CreditNote.invoice_id == invoice_id)
        .order_by(col(CreditNote.issued_at))
    ).all()
    return InvoiceView(invoice, list(lines), list(notes))
