"""A citizen's invoices and credit notes: the list, and each invoice's PDF (its credit notes
printed in it); only their own."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.billing_views import invoice_pdf_response, own_invoices, personal_account
from api.web.context import WebRoute
from api.web.public import WebDep
from billing.errors import InvoiceNotFound
from identity.models import Role

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
CITIZEN = Role.CITIZEN.value


@router.get("/me/invoices")
def invoices(web: WebDep) -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        rows = own_invoices(reading, caller.user)
    return web.page("citizen/invoices.html", title=web.t("Hoá đơn của bạn"), invoices=rows)


@router.get("/me/invoices/{invoice_id}/pdf")
def invoice_pdf(web: WebDep, invoice_id: str) -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        try:
            account = personal_account(reading, caller.user)
            return web.finish(
                invoice_pdf_response(reading, web.runtime.settings, invoice_id[:36], account)
            )
        except InvoiceNotFound:
            heading = web.t("Không có hoá đơn này")
            return web.page("message.html", status=404, title=heading, heading=heading,
                            body=web.t("Hoá đơn này không có hoặc không phải của bạn."),
                            link=("/me/invoices", web.t("Hoá đơn của bạn")))  # fmt: skip
