"""Billing staff's API: usage and revenue reports, CSV, accounts, top-ups, plans, invoices."""

from __future__ import annotations

from datetime import date
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
from api.billing_views import (
    csv_response,
    invoice_out,
    invoice_pdf_response,
    plan_out,
    report_csv,
    usage_csv,
    usage_filter,
    usage_rows,
)
from api.deps import ReadSessionDep, RuntimeDep, ServicesDep, require_roles, utc_now
from api.usecases import close_period, credit_note, top_up
from api.usecases import plans as price_plans
from api.usecases.close_period import ClosePeriod
from api.usecases.credit_note import IssueCreditNote
from api.usecases.plans import AssignPlan, PublishPlan
from api.usecases.top_up import RecordTopUp
from billing.calendar import local, month_key
from billing.errors import AccountNotFound
from billing.metering import wallet_entries
from billing.models import BillingAccount, Invoice
from billing.plans import all_plans
from billing.reports import (
    citizen_comparisons,
    organisation_comparisons,
    usage_report,
)
from identity.models import Role
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/billing", tags=["billing"])

Staff = Annotated[Principal, Depends(require_roles(Role.BILLING_STAFF.value, Role.ADMIN.value))]
Reader = Staff
"""Staff reading reports (through a read-only session: no write lock held while a long
report runs)."""
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN.value))]
Format = Annotated[Literal["json", "csv"], Query(description="csv for a spreadsheet")]
Period = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


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
    where = usage_filter(first, last, account_id, product)
    rows, total = usage_rows(session, where, limit=limit, offset=offset)
    if format == "csv":
        return usage_csv(rows)
    return {
        "from": where.first.isoformat(),
        "to": where.last.isoformat(),
        "items": rows,
        "count": len(rows),
        "total_amount": total,
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
    where = usage_filter(first, last, account_id, product)
    rows = usage_report(session, where, group=group, by=by, limit=limit, offset=offset)
    if format == "csv":
        return report_csv(rows, group=group, by=by)
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
        return csv_response(
            f"citizens-{chosen}", header, [list(r.as_dict().values()) for r in rows]
        )
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
        return csv_response(
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
    account_id: str, body: PlanAssignment, staff: Staff, services: ServicesDep
) -> AccountOut:
    command = AssignPlan(account_id=account_id, plan=body.plan, credit_limit=body.credit_limit,
                         actor=f"user:{staff.user.id}")  # fmt: skip
    return AccountOut.model_validate(price_plans.assign(services, command))


@router.post("/top-ups", status_code=201, summary="Record a payment into a prepaid wallet")
def record_top_up(
    body: TopUpRequest, staff: Staff, services: ServicesDep, response: Response
) -> LedgerEntryOut:
    command = RecordTopUp(email=body.email, account_id=body.account_id, amount=body.amount,
                          reference=body.reference, actor=f"user:{staff.user.id}")  # fmt: skip
    done = top_up.record_top_up(services, command)
    if not done.recorded:  # this reference was recorded before: nothing new
        response.status_code = 200
    return LedgerEntryOut.model_validate(done.entry)


@router.get("/plans", summary="Every version of every price plan")
def plans(staff: Reader, session: ReadSessionDep) -> list[PlanOut]:
    return [plan_out(p) for p in all_plans(session)]


@router.post("/plans", status_code=201, summary="Publish a new version of a price plan (admins)")
def new_plan_version(body: PlanVersionRequest, admin: Admin, services: ServicesDep) -> PlanOut:
    command = PublishPlan(code=body.code, terms=body.terms, effective_from=body.effective_from,
                          actor=f"user:{admin.user.id}")  # fmt: skip
    return plan_out(price_plans.publish(services, command))


@router.post("/periods/{period}/close", summary="Close a month: one invoice per account")
def close(period: str, staff: Staff, services: ServicesDep) -> PeriodClose:
    closed = close_period.close(services, ClosePeriod(period=period, actor=f"user:{staff.user.id}"))
    with services.reading() as session:
        made = [invoice_out(session, i.id) for i in closed.invoices]
    return PeriodClose(period=period, invoices=made, invoices_in_period=closed.in_period)


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
    return invoice_pdf_response(session, runtime.settings, invoice_id)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=201,
    summary="Credit all or part of an invoice back to the wallet, with a reason",
)
def credit(
    invoice_id: str, body: CreditNoteRequest, staff: Staff, services: ServicesDep
) -> CreditNoteOut:
    command = IssueCreditNote(invoice_id=invoice_id, amount=body.amount, reason=body.reason,
                              actor=f"user:{staff.user.id}")  # fmt: skip
    return CreditNoteOut.model_validate(credit_note.issue(services, command))
