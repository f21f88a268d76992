"""Billing staff import a bank statement: the top-ups it pays, each once, and the lines
left alone with their reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from api.usecases import import_statement as importing
from api.usecases.import_statement import ImportStatement
from api.web.context import WebRoute
from api.web.public import WebDep
from billing.errors import BillingError
from billing.statement import COLUMNS
from billing.wallet import MAX_TOP_UP
from identity.models import Role

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
STAFF = (Role.BILLING_STAFF.value, Role.ADMIN.value)
MAX_BYTES = 2 * 1024 * 1024
TEMPLATE = "billing/statement.html"

OUTCOME_WORDS = {
    "recorded": "Đã ghi vào ví",
    "already_recorded": "Đã ghi trước đó, không ghi lại",
    "unmatched": "Chưa khớp ví nào",
    "conflict": "Trùng mã giao dịch nhưng khác số tiền hoặc ví",
    "not_a_credit": "Không phải tiền vào",
}
REASON_WORDS = {
    "": "",
    "not money paid in": "khoản chi, không phải tiền nạp",
    f"more than {MAX_TOP_UP:,} VND at once": "vượt mức nạp tối đa một lần",
    "no payment code": "nội dung không có mã ví",
    "several payment codes": "nội dung có nhiều mã ví",
    "no wallet has this code": "không có ví nào mang mã này",
    "the code fits several wallets": "mã này khớp nhiều ví",
    "recorded before with another amount or wallet": "đã ghi trước đó với số tiền hoặc ví khác",
}


@router.get("/billing/statements")
def statement_form(web: WebDep) -> Response:
    web.require(*STAFF)
    return web.page(TEMPLATE, title=web.t("Nhập sao kê ngân hàng"), columns=COLUMNS)


@router.post("/billing/statements")
async def statement_upload(
    web: WebDep,
    statement: Annotated[UploadFile | None, File()] = None,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    caller = web.require(*STAFF)
    web.check_form(csrf)
    title = web.t("Nhập sao kê ngân hàng")
    data = await statement.read(MAX_BYTES + 1) if statement is not None else b""
    if not data or len(data) > MAX_BYTES:
        return web.page(TEMPLATE, title=title, columns=COLUMNS, status=422,
                        error=web.t("Hãy chọn một tệp CSV sao kê (tối đa 2 MB)."))  # fmt: skip
    command = ImportStatement(statement=data, actor=f"user:{caller.user.id}")
    try:
        done = importing.import_statement(web.services, command)
    except BillingError as exc:
        status, words = web.explain(exc)
        return web.page(TEMPLATE, title=title, columns=COLUMNS, status=status, error=words)
    return web.page(TEMPLATE, title=title, columns=COLUMNS, done=done,
                    outcome_words=OUTCOME_WORDS, line_reasons=REASON_WORDS)  # fmt: skip
