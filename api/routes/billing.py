"""Billing staff's API: usage and revenue reports, CSV, accounts, top-ups, plans, invoices."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import col, select

from api.billing_schemas import (
    AccountOut,
    CreditNoteOut,
    CreditNoteRequest,
    InvoiceOut,
    LedgerEntryOut,
    PeriodClose,
    PlanAssignment,
    PlanOut,
    PlanVersionRequest,
    TopUpRequest,
)
from api.deps import (
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    require_roles,
    require_roles_reading,
    utc_now,
)
from api.payers import payer_for
from api.routes.wallet import invoice_out, invoice_pdf_response, plan_out
from billing.accounts import locked_account, open_account, set_plan
from billing.calendar import VIETNAM, local, month_key
from billing.errors import AccountNotFound, InvalidBillingInput
from billing.invoices import close_period, issue_credit_note
from billing.metering import wallet_entries
from billing.models import BillingAccount, Invoice
from billing.plans import PlanTerms, all_plans, publish_plan
from billing.reports import (
    UsageFilter,
    citizen_comparisons,
    organisation_comparisons,
    to_csv,
    usage_events,
    usage_report,
)
from billing.wallet import top_up
from identity.audit import record_audit
from identity.errors import NotFound
from identity.models import Role, User
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/billing", tags=["billing"])

Staff = Annotated[Principal, Depends(require_roles(Role.BILLING_STAFF.value, Role.ADMIN.value))]
Reader = Annotated[
    Principal, Depends(require_roles_reading(Role.BILLING_STAFF.value, Role.ADMIN.value))
]
"""Staff reading reports: no write lock (SQLite) held while a long report runs."""
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN.value))]
Format = Annotated[Literal["json", "csv"], Query(description="csv for a spreadsheet")]
Period = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


def _csv(name: str, header: list[str], rows: list[list[object]]) -> Response:
    """UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese correctly."""
    return Response(
        "\ufeff" + to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _filter(
    first: date | None, last: date | None, account_id: str | None, product: str | None
) -> UsageFilter:
    today = local(utc_now()).date()
    return UsageFilter(
        first=first or today.replace(day=1),
        last=last or today,
        account_id=account_id or None,
        product=product or None,
    )


def _bounds(where: UsageFilter) -> tuple[datetime, datetime]:
    start = datetime.combine(where.first, datetime.min.time(), tzinfo=VIETNAM)
    end = datetime.combine(where.last + timedelta(days=1), datetime.min.time(), tzinfo=VIETNAM)
    return start, end


@router.get(
    "/usage",
    response_model=None,
    summary="Usage events across accounts (filter by period, account, product)",
)
def usage(
    staff: Reader,
    session: ReadSessionDep,
    first: Annotated[date | None, Query(alias="from", description="first day, Vietnam")] = None,
    last: Annotated[date | None, Query(alias="to", description="last day, inclusive")] = None,
    account_id: str | None = None,
    product: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Format = "json",
) -> Response | dict[str, object]:
    where = _filter(first, last, account_id, product)
    start, end = _bounds(where)
    events = usage_events(
        session,
        start=start,
        end=end,
        account_id=where.account_id,
        product=where.product,
        limit=limit,
        offset=offset,
    )
    rows = [
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
        }
        for e in events
    ]
    if format == "csv":
        header = list(rows[0]) if rows else ["id", "created_at", "account_id", "product", "amount"]
        return _csv("usage", header, [list(r.values()) for r in rows])
    return {
        "from": where.first.isoformat(),
        "to": where.last.isoformat(),
        "items": rows,
        "count": len(rows),
        "total_amount": sum(e.amount for e in events),
    }


@router.get(
    "/reports/usage",
    response_model=None,
    summary="Usage and revenue by day or month, by product or account",
)
def report(
    staff: Reader,
    session: ReadSessionDep,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    group: Literal["day", "month"] = "month",
    by: Literal["product", "account", "none"] = "product",
    account_id: str | None = None,
    product: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Format = "json",
) -> Response | dict[str, object]:
    where = _filter(first, last, account_id, product)
    rows = usage_report(session, where, group=group, by=by, limit=limit, offset=offset)
    if format == "csv":
        return _csv(
            f"usage-by-{group}-and-{by}",
            ["period", by, "label", "count", "amount_vnd"],
            [[r.period, r.key, r.label, r.count, r.amount] for r in rows],
        )
    return {
        "from": where.first.isoformat(),
        "to": where.last.isoformat(),
        "group": group,
        "by": by,
        "rows": [r.__dict__ for r in rows],
        "total_count": sum(r.count for r in rows),
        "total_amount": sum(r.amount for r in rows),
    }


@router.get(
    "/comparisons/citizens",
    response_model=None,
    summary="Per citizen: paid per use this year against a yearly certificate",
)
def compare_citizens(
    staff: Reader,
    session: ReadSessionDep,
    runtime: RuntimeDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    format: Format = "json",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response | list[dict[str, object]]:
    chosen = year or local(utc_now()).year
    rows = citizen_comparisons(
        session,
        chosen,
        yearly_certificate_price=runtime.settings.yearly_certificate_price,
        limit=limit,
        offset=offset,
    )
    if format == "csv":
        header = [
            "account_id",
            "label",
            "year",
            "signatures",
            "paid",
            "yearly_certificate_price",
            "saved",
        ]
        return _csv(f"citizens-{chosen}", header, [list(r.as_dict().values()) for r in rows])
    return [r.as_dict() for r in rows]


@router.get(
    "/comparisons/organisations",
    response_model=None,
    summary="Per organisation: a month's signatures priced under every plan",
)
def compare_organisations(
    staff: Reader,
    session: ReadSessionDep,
    period: Period | None = None,
    format: Format = "json",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response | list[dict[str, object]]:
    now = utc_now()
    chosen = period or month_key(now)
    codes = sorted({p.code for p in all_plans(session)})
    rows = organisation_comparisons(session, chosen, codes, at=now, limit=limit, offset=offset)
    if format == "csv":
        header = [
            "account_id",
            "label",
            "period",
            "signatures",
            "current_plan",
            *[f"cost_{c}" for c in codes],
            "cheapest_plan",
        ]
        return _csv(
            f"organisations-{chosen}",
            header,
            [
                [
                    r.account_id,
                    r.label,
                    r.period,
                    r.signatures,
                    r.current_plan,
                    *[r.cost_by_plan[c] for c in codes],
                    r.cheapest_plan,
                ]
                for r in rows
            ],
        )
    return [r.as_dict() for r in rows]


@router.get("/accounts", summary="Billing accounts with their balances")
def accounts(
    staff: Reader,
    session: ReadSessionDep,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AccountOut]:
    query = select(BillingAccount)
    if kind:
        query = query.where(BillingAccount.kind == kind)
    rows = session.exec(query.order_by(col(BillingAccount.label)).offset(offset).limit(limit))
    return [AccountOut.model_validate(a) for a in rows]


@router.get("/accounts/{account_id}/entries", summary="An account's wallet movements")
def account_entries(
    account_id: str,
    staff: Reader,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LedgerEntryOut]:
    if session.get(BillingAccount, account_id) is None:
        raise AccountNotFound("no such billing account", account_id=account_id)
    return [
        LedgerEntryOut.model_validate(e) for e in wallet_entries(session, account_id, limit=limit)
    ]


@router.put("/accounts/{account_id}/plan", summary="Move an account to another price plan")
def assign_plan(
    account_id: str, body: PlanAssignment, staff: Staff, session: SessionDep
) -> AccountOut:
    now = utc_now()
    account = set_plan(session, account_id, body.plan, now=now, credit_limit=body.credit_limit)
    record_audit(
        session,
        at=now,
        actor=f"user:{staff.user.id}",
        action="billing.plan_assign",
        target=account_id,
        plan=body.plan,
        credit_limit=body.credit_limit,
    )
    return AccountOut.model_validate(account)


@router.post("/top-ups", status_code=201, summary="Record a payment into a prepaid wallet")
def record_top_up(
    body: TopUpRequest, staff: Staff, session: SessionDep, response: Response
) -> LedgerEntryOut:
    now = utc_now()
    if (body.email is None) == (body.account_id is None):
        raise InvalidBillingInput("name the account by email or by account_id (one of them)")
    if body.email is not None:
        user = session.exec(select(User).where(User.email == body.email.strip().lower())).first()
        if user is None or user.role != Role.CITIZEN.value:
            raise NotFound("no citizen with this email")
        payer = payer_for(session, user)
        open_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
        account_id = payer.account_id
    else:
        account_id = body.account_id or ""
        locked_account(session, account_id)
    entry, created = top_up(
        session,
        account_id,
        amount=body.amount,
        reference=body.reference,
        actor=f"user:{staff.user.id}",
        now=now,
    )
    if created:
        record_audit(
            session,
            at=now,
            actor=f"user:{staff.user.id}",
            action="billing.top_up",
            target=account_id,
            amount=body.amount,
            reference=body.reference,
        )
    else:
        response.status_code = 200
    return LedgerEntryOut.model_validate(entry)


@router.get("/plans", summary="Every version of every price plan")
def plans(staff: Reader, session: ReadSessionDep) -> list[PlanOut]:
    return [plan_out(p) for p in all_plans(session)]


@router.post("/plans", status_code=201, summary="Publish a new version of a price plan (admins)")
def new_plan_version(body: PlanVersionRequest, admin: Admin, session: SessionDep) -> PlanOut:
    now = utc_now()
    if body.effective_from.tzinfo is None:
        raise InvalidBillingInput("effective_from needs a time zone", field="effective_from")
    terms = PlanTerms.from_dict(body.terms)
    plan = publish_plan(
        session,
        body.code,
        terms,
        effective_from=body.effective_from,
        now=now,
        actor=f"user:{admin.user.id}",
    )
    record_audit(
        session,
        at=now,
        actor=f"user:{admin.user.id}",
        action="billing.plan_publish",
        target=f"{plan.code} v{plan.version}",
    )
    return plan_out(plan)


@router.post("/periods/{period}/close", summary="Close a month: one invoice per account")
def close(period: str, staff: Staff, session: SessionDep, runtime: RuntimeDep) -> PeriodClose:
    now = utc_now()
    made = close_period(session, period, now=now, vat_percent=runtime.settings.vat_percent)
    record_audit(
        session,
        at=now,
        actor=f"user:{staff.user.id}",
        action="billing.period_close",
        target=period,
        invoices=len(made),
    )
    total = len(session.exec(select(Invoice.id).where(Invoice.period == period)).all())
    return PeriodClose(
        period=period, invoices=[invoice_out(session, i.id) for i in made], invoices_in_period=total
    )


@router.get("/invoices", summary="Invoices, by period and account")
def invoices(
    staff: Reader,
    session: ReadSessionDep,
    period: Period | None = None,
    account_id: str | None = None,
) -> list[InvoiceOut]:
    query = select(Invoice)
    if period:
        query = query.where(Invoice.period == period)
    if account_id:
        query = query.where(Invoice.account_id == account_id)
    rows = session.exec(query.order_by(col(Invoice.number)).limit(1000)).all()
    return [invoice_out(session, row.id) for row in rows]


@router.get("/invoices/{invoice_id}", summary="One invoice with its lines and credit notes")
def invoice(invoice_id: str, staff: Reader, session: ReadSessionDep) -> InvoiceOut:
    return invoice_out(session, invoice_id)


@router.get("/invoices/{invoice_id}/pdf", response_class=Response, summary="An invoice as PDF")
def invoice_pdf(
    invoice_id: str, staff: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> Response:
    return invoice_pdf_response(session, runtime, invoice_id)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=201,
    summary="Credit all or part of an invoice back to the wallet, with a reason",
)
def credit(
    invoice_id: str, body: CreditNoteRequest, staff: Staff, session: SessionDep
) -> CreditNoteOut:
    now = utc_now()
    note = issue_credit_note(
        session,
        invoice_id,
        amount=body.amount,
        reason=body.reason,
        actor=f"user:{staff.user.id}",
        now=now,
    )
    record_audit(
        session,
        at=now,
        actor=f"user:{staff.user.id}",
        action="billing.credit_note",
        target=note.number,
        invoice_id=invoice_id,
        amount=note.amount,
    )
    return CreditNoteOut.model_validate(note)
