"""Usage and revenue for billing staff, and what per-use pricing saved citizens.

Reports read the daily rollups kept by every charge, so a month's report costs what the
month's account-product-days cost, not what its events do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from billing.errors import InvalidBillingInput, PlanNotFound
from billing.models import BillingAccount, UsageDaily, UsageEvent, UsageRollup
from billing.plans import SIGNING_PRODUCTS, PlanTerms, plan_in_force

__all__ = [
    "CitizenComparison",
    "OrganisationComparison",
    "ReportRow",
    "UsageFilter",
    "citizen_comparisons",
    "organisation_comparisons",
    "to_csv",
    "usage_events",
    "usage_report",
]

GROUPINGS = ("day", "month")
BREAKDOWNS = ("product", "account", "none")


@dataclass(frozen=True)
class UsageFilter:
    """Which usage a report covers: Vietnamese calendar days ``first``..``last`` inclusive."""

    first: date
    last: date
    account_id: str | None = None
    product: str | None = None

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidBillingInput("the period ends before it starts", field="to")
        if (self.last - self.first).days > 3 * 366:
            raise InvalidBillingInput(
                "a report covers at most three years: move 'from' or 'to'", field="from"
            )


@dataclass(frozen=True)
class ReportRow:
    period: str
    """``YYYY-MM-DD`` or ``YYYY-MM`` (Vietnamese calendar)."""
    key: str
    """The product or account id the row is about (empty when not broken down)."""
    label: str
    count: int
    amount: int
    """Revenue in VND, VAT included."""


def usage_report(
    session: Session,
    where: UsageFilter,
    *,
    group: str = "month",
    by: str = "product",
    limit: int | None = None,
    offset: int = 0,
) -> list[ReportRow]:
    """Usage and revenue per day or month, broken down by product, account or nothing. Reports
    across accounts read the service's daily totals; per account, the accounts' days."""
    if group not in GROUPINGS:
        raise InvalidBillingInput(f"group is one of {', '.join(GROUPINGS)}", field="group")
    if by not in BREAKDOWNS:
        raise InvalidBillingInput(f"by is one of {', '.join(BREAKDOWNS)}", field="by")
    per_account = by == "account" or where.account_id is not None
    source: type[UsageRollup] | type[UsageDaily] = UsageRollup if per_account else UsageDaily
    day = col(source.day)
    period = day if group == "day" else func.substr(day, 1, 7)
    key = {"product": col(source.product), "account": col(UsageRollup.account_id)}.get(by)
    columns = [period.label("period")]
    if key is not None:
        columns.append(key.label("key"))
    if by == "account":
        columns.append(func.coalesce(col(BillingAccount.label), "").label("label"))
    query = sa_select(*columns, func.sum(col(source.count)), func.sum(col(source.amount))).where(
        day >= where.first.isoformat(), day <= where.last.isoformat()
    )
    if by == "account":
        query = query.outerjoin(
            BillingAccount, col(BillingAccount.id) == col(UsageRollup.account_id)
        )
    if where.account_id:
        query = query.where(col(UsageRollup.account_id) == where.account_id)
    if where.product:
        query = query.where(col(source.product) == where.product)
    grouping = [period] if key is None else [period, key]
    ordering = list(grouping)
    if by == "account":
        grouping.append(col(BillingAccount.label))
    query = query.group_by(*grouping).order_by(*ordering).offset(offset)
    rows = session.execute(query if limit is None else query.limit(limit)).all()
    return [
        ReportRow(
            period=r[0],
            key=r[1] if key is not None else "",
            label=r[2] if by == "account" else "",
            count=int(r[-2]),
            amount=int(r[-1]),
        )
        for r in rows
    ]


def usage_events(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    account_id: str | None,
    product: str | None,
    limit: int,
    offset: int = 0,
) -> list[UsageEvent]:
    """Single events in [start, end), newest first."""
    query = select(UsageEvent).where(
        col(UsageEvent.created_at) >= start, col(UsageEvent.created_at) < end
    )
    if account_id:
        query = query.where(UsageEvent.account_id == account_id)
    if product:
        query = query.where(UsageEvent.product == product)
    query = query.order_by(col(UsageEvent.created_at).desc(), col(UsageEvent.id).desc())
    return list(session.exec(query.offset(offset).limit(limit)))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def _csv_cell(value: object) -> object:
    """No formula injection into spreadsheets: text cells never start with = + - @."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class CitizenComparison:
    account_id: str
    label: str
    year: int
    signatures: int
    paid: int
    """What the account paid for everything this year (VND)."""
    yearly_certificate_price: int
    saved: int
    """``yearly_certificate_price - paid`` (negative: the subscription would have been cheaper)."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def citizen_comparisons(
    session: Session,
    year: int,
    *,
    yearly_certificate_price: int,
    account_id: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[CitizenComparison]:
    """Per citizen: what per-use pricing cost them in ``year`` against a yearly certificate."""
    first, last = f"{year:04d}-01-01", f"{year:04d}-12-31"
    query = (
        select(
            UsageRollup.account_id,
            BillingAccount.label,
            func.sum(UsageRollup.amount),
            func.sum(UsageRollup.count).filter(col(UsageRollup.product).in_(SIGNING_PRODUCTS)),
        )
        .join(BillingAccount, col(BillingAccount.id) == col(UsageRollup.account_id))
        .where(
            BillingAccount.kind == "citizen",
            col(UsageRollup.day) >= first,
            col(UsageRollup.day) <= last,
        )
        .group_by(col(UsageRollup.account_id), col(BillingAccount.label))
        .order_by(col(UsageRollup.account_id))
    )
    if account_id:
        query = query.where(UsageRollup.account_id == account_id)
    return [
        CitizenComparison(
            account_id=a,
            label=label,
            year=year,
            signatures=int(n or 0),
            paid=int(paid or 0),
            yearly_certificate_price=yearly_certificate_price,
            saved=yearly_certificate_price - int(paid or 0),
        )
        for a, label, paid, n in session.execute(query.offset(offset).limit(limit)).all()
    ]


@dataclass(frozen=True)
class OrganisationComparison:
    account_id: str
    label: str
    period: str
    signatures: int
    current_plan: str
    cost_by_plan: dict[str, int]
    """What the month's signatures cost under each plan in force (fee included), VND."""
    cheapest_plan: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def organisation_comparisons(
    session: Session,
    period: str,
    plan_codes: Sequence[str],
    *,
    at: datetime,
    limit: int = 1000,
    offset: int = 0,
) -> list[OrganisationComparison]:
    """Per organisation: the month's signatures priced under every plan named (per-use plans
    as if the year had started with the month's first signature before it)."""
    terms: dict[str, PlanTerms] = {}
    for code in plan_codes:
        try:
            terms[code] = plan_in_force(session, code, at)[1]
        except PlanNotFound:  # a plan whose first version is still to come
            continue
    start_day, end_day = f"{period}-01", f"{period}-31"
    rows = session.execute(
        select(
            UsageRollup.account_id,
            BillingAccount.label,
            BillingAccount.plan_code,
            func.sum(UsageRollup.count),
        )
        .join(BillingAccount, col(BillingAccount.id) == col(UsageRollup.account_id))
        .where(
            BillingAccount.kind == "organisation",
            col(UsageRollup.day) >= start_day,
            col(UsageRollup.day) <= end_day,
            col(UsageRollup.product).in_(SIGNING_PRODUCTS),
        )
        .group_by(
            col(UsageRollup.account_id), col(BillingAccount.label), col(BillingAccount.plan_code)
        )
        .order_by(col(UsageRollup.account_id))
        .offset(offset)
        .limit(limit)
    ).all()
    result = []
    for account_id, label, plan_code, count in rows:
        costs = {code: t.monthly_cost(int(count)) for code, t in terms.items()}
        result.append(
            OrganisationComparison(
                account_id=account_id,
                label=label,
                period=period,
                signatures=int(count),
                current_plan=plan_code,
                cost_by_plan=costs,
                cheapest_plan=min(costs, key=costs.__getitem__),
            )
        )
    return result
