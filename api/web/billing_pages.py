"""Billing staff's pages: usage and revenue over time and by product (charts, filters, a
table per account, CSV export), invoices with credit notes, and recording a top-up."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import col, select

from api.billing_views import invoice_out, invoice_pdf_response, report_csv, usage_csv, usage_rows
from api.usecases import close_period as closing
from api.usecases import credit_note as crediting
from api.usecases import top_up as payments
from api.usecases.close_period import ClosePeriod
from api.usecases.credit_note import IssueCreditNote
from api.usecases.services import utc_now
from api.usecases.top_up import RecordTopUp
from api.web.charts import PALETTE, Series, bars_by_key, stacked_bars
from api.web.context import Web, WebRoute
from api.web.public import WebDep
from api.web.render import money
from api.web.words import PRODUCT_WORDS
from billing.calendar import local
from billing.errors import BillingError
from billing.models import Invoice
from billing.plans import PRODUCTS
from billing.reports import UsageFilter, usage_report
from billing.wallet import MAX_TOP_UP
from identity.errors import IdentityError, NotFound
from identity.models import Role

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
STAFF = (Role.BILLING_STAFF.value, Role.ADMIN.value)
FormText = Annotated[str, Form(max_length=500)]
MAX_DAYS_BY_DAY = 92
"""A chart by day covers at most this many days; longer periods are drawn by month."""


def _digits(amount: str) -> str:
    """An amount of đồng as typed (``100.000``, ``100,000``, ``100 000``) without separators."""
    return amount.replace(".", "").replace(",", "").replace(" ", "")


def _dates(first: str, last: str) -> tuple[date, date, bool]:
    """The period asked for (this month so far by default); False when a day was not one."""
    today = local(utc_now()).date()
    start, end, valid = today.replace(day=1), today, True
    try:
        start = date.fromisoformat(first) if first else start
        end = date.fromisoformat(last) if last else end
    except ValueError:
        valid = False
    return start, end, valid


def _periods(start: date, end: date, group: str) -> list[str]:
    if group == "day":
        return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        months.append(cursor.isoformat()[:7])
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


@router.get("/billing")
def dashboard(web: WebDep, first: str = "", last: str = "", product: str = "") -> Response:
    web.require(*STAFF)
    start, end, valid = _dates(first, last)
    chosen = product if product in PRODUCTS else ""
    error = "" if valid else web.t("Ngày không hợp lệ; đang hiển thị tháng này.")
    if valid and end < start:
        error = web.t("Ngày kết thúc trước ngày bắt đầu; đang hiển thị tháng này.")
    elif valid and (end - start).days > 3 * 366:
        error = web.t("Một báo cáo dài tối đa ba năm; đang hiển thị tháng này.")
    if error:
        start, end, _ = _dates("", "")
    where = UsageFilter(first=start, last=end, product=chosen or None)
    group = "day" if (end - start).days < MAX_DAYS_BY_DAY else "month"
    with web.services.reading() as reading:
        by_product = usage_report(reading, where, group=group, by="product")
        by_account = usage_report(reading, where, group="month", by="account", limit=5000)
        reading.rollback()
    periods = _periods(start, end, group)
    products = sorted({r.key for r in by_product})
    label = {p: web.t(PRODUCT_WORDS.get(p, p)) for p in products}
    counts = [
        Series(p, label[p], {r.period: r.count for r in by_product if r.key == p}) for p in products
    ]
    revenue = [
        Series(p, label[p], {r.period: r.amount for r in by_product if r.key == p})
        for p in products
    ]
    totals: dict[str, list[int]] = {}
    for row in by_product:
        totals.setdefault(row.key, [0, 0])
        totals[row.key][0] += row.count
        totals[row.key][1] += row.amount
    accounts: dict[str, dict[str, Any]] = {}
    for row in by_account:
        entry = accounts.setdefault(row.key, {"label": row.label, "count": 0, "amount": 0})
        entry["count"] += row.count
        entry["amount"] += row.amount
    tick = (
        (lambda p: p[8:10] + "/" + p[5:7]) if group == "day" else (lambda p: p[5:7] + "/" + p[:4])
    )
    return web.page(
        "billing/dashboard.html",
        title=web.t("Doanh thu và sử dụng"),
        error=error,
        first=start.isoformat(),
        last=end.isoformat(),
        product=chosen,
        products=PRODUCTS,
        group=group,
        usage_chart=stacked_bars(
            periods,
            counts,
            title=web.t("Số lượt sử dụng theo thời gian"),
            ident="usage-chart",
            fmt=str,
            tick_label=tick,
        ),
        revenue_chart=stacked_bars(
            periods,
            revenue,
            title=web.t("Doanh thu theo thời gian"),
            ident="revenue-chart",
            fmt=lambda v: money(v, web.lang),
            tick_label=tick,
        ),
        product_chart=bars_by_key(
            [(label[p], totals[p][1]) for p in products],
            title=web.t("Doanh thu theo dịch vụ"),
            ident="product-chart",
            fmt=lambda v: money(v, web.lang),
        ),
        legend=[(label[p], n % len(PALETTE)) for n, p in enumerate(products)],
        totals=[(label[p], totals[p][0], totals[p][1]) for p in products],
        total_count=sum(v[0] for v in totals.values()),
        total_amount=sum(v[1] for v in totals.values()),
        accounts=sorted(accounts.items(), key=lambda item: -item[1]["amount"]),
    )


@router.get("/billing/export/usage.csv")
def export_usage(web: WebDep, first: str = "", last: str = "", product: str = "") -> Response:
    """Every usage event of the period, one row each (the API's CSV)."""
    web.require(*STAFF)
    start, end, _ = _dates(first, last)
    where = UsageFilter(first=start, last=end, product=product or None)
    with web.services.reading() as reading:
        rows, _total = usage_rows(reading, where, limit=10_000, offset=0)
    return web.finish(usage_csv(rows))


@router.get("/billing/export/report.csv")
def export_report(
    web: WebDep, first: str = "", last: str = "", product: str = "", by: str = "product"
) -> Response:
    """The report behind the charts: per day (or month) and product or account."""
    web.require(*STAFF)
    start, end, _ = _dates(first, last)
    group = "day" if (end - start).days < MAX_DAYS_BY_DAY else "month"
    breakdown = "account" if by == "account" else "product"
    where = UsageFilter(first=start, last=end, product=product or None)
    with web.services.reading() as reading:
        rows = usage_report(reading, where, group=group, by=breakdown, limit=100_000)
    return web.finish(report_csv(rows, group=group, by=breakdown))


def _invoices_page(
    web: Web, period: str, *, status: int = 200, notice: str = "", error: str = ""
) -> Response:
    web.require(*STAFF)
    today = local(utc_now()).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).isoformat()[:7]
    shown = period or last_month
    with web.services.reading() as reading:
        query = select(Invoice).order_by(col(Invoice.number)).limit(1000)
        if len(shown) == 7:
            query = query.where(Invoice.period == shown)
        rows = [invoice_out(reading, row.id) for row in reading.exec(query)]
    return web.page(
        "billing/invoices.html",
        title=web.t("Hoá đơn"),
        status=status,
        notice=notice,
        error=error,
        rows=rows,
        period=shown,
        last_month=last_month,
    )


@router.get("/billing/invoices")
def invoice_list(web: WebDep, period: str = "") -> Response:
    return _invoices_page(web, period)


@router.post("/billing/periods/close")
def close_period(
    web: WebDep, csrf: FormText = "", period: FormText = "", confirm: FormText = ""
) -> Response:
    caller = web.require(*STAFF)
    web.check_form(csrf)
    period = period.strip()
    if not re.fullmatch(r"(2\d{3})-(0[1-9]|1[0-2])", period):
        return _invoices_page(
            web, "", status=422, error=web.t("Tháng viết dạng NNNN-TT, ví dụ 2026-10.")
        )
    if not confirm:
        return _invoices_page(
            web,
            period,
            status=422,
            error=web.t("Hãy đánh dấu ô xác nhận: tháng đã chốt không thể ghi thêm."),
        )
    try:
        closed = closing.close(
            web.services, ClosePeriod(period=period, actor=f"user:{caller.user.id}")
        )
    except (BillingError, IdentityError) as exc:
        status, words = web.explain(exc)
        return _invoices_page(web, period, status=status, error=words)
    return web.done(
        f"/billing/invoices?period={period}",
        web.t("Đã chốt tháng {period}: {n} hoá đơn mới.", period=period, n=len(closed.invoices)),
    )


def _invoice_page(
    web: Web, invoice_id: str, *, status: int = 200, notice: str = "", error: str = ""
) -> Response:
    web.require(*STAFF)
    try:
        with web.services.reading() as reading:
            shown = invoice_out(reading, invoice_id)
    except BillingError as exc:
        code, words = web.explain(exc)
        return web.page(
            "message.html",
            status=code,
            title=web.t("Không tìm thấy"),
            heading=words,
            body="",
            link=("/billing/invoices", web.t("Hoá đơn")),
        )
    return web.page(
        "billing/invoice.html",
        title=shown.number,
        status=status,
        notice=notice,
        error=error,
        invoice=shown,
    )


@router.get("/billing/invoices/{invoice_id}")
def invoice_page(web: WebDep, invoice_id: str) -> Response:
    return _invoice_page(web, invoice_id)


@router.get("/billing/invoices/{invoice_id}/pdf")
def invoice_download(web: WebDep, invoice_id: str) -> Response:
    web.require(*STAFF)
    with web.services.reading() as reading:
        return web.finish(invoice_pdf_response(reading, web.runtime.settings, invoice_id))


@router.post("/billing/invoices/{invoice_id}/credit-notes")
def credit_note(
    web: WebDep, invoice_id: str, csrf: FormText = "", amount: FormText = "", reason: FormText = ""
) -> Response:
    caller = web.require(*STAFF)
    web.check_form(csrf)
    cleaned = _digits(amount)
    if cleaned and not (cleaned.isascii() and cleaned.isdigit() and int(cleaned) > 0):
        return _invoice_page(
            web,
            invoice_id,
            status=422,
            error=web.t("Số tiền là một số đồng lớn hơn 0, không có phần lẻ."),
        )
    if not reason.strip():
        return _invoice_page(web, invoice_id, status=422, error=web.t("Hãy ghi lý do giảm trừ."))
    command = IssueCreditNote(invoice_id=invoice_id, amount=int(cleaned) if cleaned else None,
                              reason=reason.strip(), actor=f"user:{caller.user.id}")  # fmt: skip
    try:
        note = crediting.issue(web.services, command)
    except (BillingError, IdentityError) as exc:
        status, words = web.explain(exc)
        return _invoice_page(web, invoice_id, status=status, error=words)
    return web.done(
        f"/billing/invoices/{invoice_id}",
        web.t(
            "Đã lập phiếu giảm trừ {number}: {amount} đã hoàn vào ví.",
            number=note.number,
            amount=money(note.amount, web.lang),
        ),
    )


@router.get("/billing/top-ups")
def top_up_form(web: WebDep) -> Response:
    web.require(*STAFF)
    return web.page("billing/top_up.html", title=web.t("Ghi nhận nạp tiền"), values={})


@router.post("/billing/top-ups")
def top_up(
    web: WebDep,
    csrf: FormText = "",
    email: FormText = "",
    amount: FormText = "",
    reference: FormText = "",
    confirmed: FormText = "",
) -> Response:
    caller = web.require(*STAFF)
    web.check_form(csrf)
    values = {"email": email, "amount": amount, "reference": reference}
    title = web.t("Ghi nhận nạp tiền")
    cleaned = _digits(amount)
    if not (cleaned.isascii() and cleaned.isdigit()) or not reference.strip():
        return web.page(
            "billing/top_up.html",
            title=title,
            status=422,
            values=values,
            error=web.t("Hãy nhập số tiền (số đồng) và mã tham chiếu của giao dịch ngân hàng."),
        )
    if not 0 < int(cleaned) <= MAX_TOP_UP:
        return web.page("billing/top_up.html", title=title, status=422, values=values,
                        error=web.t("Số tiền nạp từ 1 đến {most} đồng.",
                                    most=money(MAX_TOP_UP, web.lang)))  # fmt: skip
    if confirmed != "yes":  # first show whose wallet it is, then record
        whose = payments.payee(web.services, email)
        if whose is None:
            return web.page("billing/top_up.html", title=title, status=404, values=values,
                            error=web.t("Không có người dân nào dùng email này."))  # fmt: skip
        return web.page("billing/top_up.html", title=title, values=values, payee=whose,
                        amount=int(cleaned))  # fmt: skip
    command = RecordTopUp(email=email.strip(), amount=int(cleaned),
                          reference=reference.strip(), actor=f"user:{caller.user.id}")  # fmt: skip
    try:
        done = payments.record_top_up(web.services, command)
    except NotFound:
        return web.page("billing/top_up.html", title=title, status=404, values=values,
                        error=web.t("Không có người dân nào dùng email này."))  # fmt: skip
    except (BillingError, IdentityError) as exc:
        status, words = web.explain(exc)
        return web.page(
            "billing/top_up.html", title=title, status=status, values=values, error=words
        )
    if not done.recorded:  # this reference was recorded before: nothing new
        return web.done(
            "/billing/top-ups",
            web.t(
                "Mã tham chiếu {reference} đã được ghi nhận trước đó; không ghi thêm lần nữa.",
                reference=reference.strip(),
            ),
            kind="error",
        )
    return web.done(
        "/billing/top-ups",
        web.t(
            "Đã ghi nhận {amount} vào ví của {email}. Số dư mới: {balance}.",
            amount=money(int(cleaned), web.lang),
            email=email.strip(),
            balance=money(done.entry.balance_after, web.lang),
        ),
    )
