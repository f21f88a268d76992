"""Close a month (the API, the invoices page, ``kyso billing close-period``): one invoice per
account that used anything, numbered without gaps, VAT split out; audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from api.usecases.services import Services
from billing.invoices import close_period
from billing.models import Invoice
from identity.audit import record_audit

__all__ = ["ClosePeriod", "Closed", "close"]


@dataclass(frozen=True, kw_only=True)
class ClosePeriod:
    period: str
    """``YYYY-MM``, a Vietnamese calendar month that has ended."""
    actor: str


@dataclass(frozen=True)
class Closed:
    invoices: list[Invoice]
    """The invoices this close made (none when the month was closed already)."""
    in_period: int
    """Every invoice of the month."""


def close(services: Services, command: ClosePeriod) -> Closed:
    now = services.clock()
    vat = services.runtime.settings.vat_percent
    with services.unit_of_work() as session:
        made = close_period(session, command.period, now=now, vat_percent=vat)
        record_audit(session, at=now, actor=command.actor, action="billing.period_close",
                     target=command.period, invoices=len(made))  # fmt: skip
        total = session.exec(select(Invoice.id).where(Invoice.period == command.period)).all()
        return Closed(made, len(total))
