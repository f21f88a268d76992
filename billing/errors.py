"""Errors of billing, each with a stable machine-readable code."""

from __future__ import annotations

__all__ = [
    "AccountNotFound",
    "BillingError",
    "CreditExceedsInvoice",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidBillingInput",
    "InvoiceNotFound",
    "PeriodClosed",
    "PeriodNotOver",
    "PlanNotFound",
    "ReferenceConflict",
]


class BillingError(Exception):
    """Base of every error raised by ``billing``; ``code`` is stable, ``detail`` for people."""

    code = "billing.error"
    commits_work = False

    def __init__(self, detail: str, **fields: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class InsufficientFunds(BillingError):
    """The wallet (with its holds) or the credit limit does not cover the price."""

    code = "billing.insufficient_funds"


class InvalidBillingInput(BillingError):
    code = "billing.invalid_input"


class AccountNotFound(BillingError):
    code = "billing.account_not_found"


class PlanNotFound(BillingError):
    code = "billing.plan_not_found"


class InvoiceNotFound(BillingError):
    code = "billing.invoice_not_found"


class ReferenceConflict(BillingError):
    """A payment reference already recorded with another account or amount."""

    code = "billing.reference_conflict"


class PeriodNotOver(BillingError):
    """A period can be closed only once it has ended in Vietnam."""

    code = "billing.period_not_over"


class CreditExceedsInvoice(BillingError):
    code = "billing.credit_exceeds_invoice"


class PeriodClosed(BillingError):
    """A charge would fall into a month already invoiced (only at the turn of a month)."""

    code = "billing.period_closed"


class IdempotencyConflict(BillingError):
    """An Idempotency-Key used again for a different request."""

    code = "billing.idempotency_conflict"
