"""Errors of billing, each with a stable machine-readable code and typed fields."""

from __future__ import annotations

from kernel.errors import KysoError

__all__ = [
    "AccountNotFound",
    "BillingError",
    "CreditExceedsInvoice",
    "InsufficientFunds",
    "InvalidBillingInput",
    "InvoiceNotFound",
    "OrganisationMoney",
    "PaymentsDisabled",
    "PeriodClosed",
    "PeriodNotOver",
    "PlanNotFound",
    "ReferenceConflict",
    "ReservationLost",
]


class BillingError(KysoError):
    """Base of every error raised by ``billing``."""

    code = "billing.error"


class InsufficientFunds(BillingError):
    """The wallet (less what requests in progress hold) or the credit limit does not cover
    the price."""

    code = "billing.insufficient_funds"
    FIELDS = ("price", "balance", "available")

    def __init__(self, detail: str, *, price: int, balance: int, available: int) -> None:
        super().__init__(detail)
        self.price, self.balance, self.available = price, balance, available


class InvalidBillingInput(BillingError):
    code = "billing.invalid_input"
    FIELDS = ("field",)

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field
        """The input that is wrong, when one is."""


class AccountNotFound(BillingError):
    code = "billing.account_not_found"
    FIELDS = ("account_id",)

    def __init__(self, detail: str, *, account_id: str) -> None:
        super().__init__(detail)
        self.account_id = account_id


class PlanNotFound(BillingError):
    code = "billing.plan_not_found"
    FIELDS = ("plan",)

    def __init__(self, detail: str, *, plan: str) -> None:
        super().__init__(detail)
        self.plan = plan


class InvoiceNotFound(BillingError):
    code = "billing.invoice_not_found"
    FIELDS = ("invoice_id",)

    def __init__(self, detail: str, *, invoice_id: str) -> None:
        super().__init__(detail)
        self.invoice_id = invoice_id


class ReferenceConflict(BillingError):
    """A payment reference already recorded with another account or amount."""

    code = "billing.reference_conflict"
    FIELDS = ("reference",)

    def __init__(self, detail: str, *, reference: str) -> None:
        super().__init__(detail)
        self.reference = reference


class _AboutPeriod(BillingError):
    FIELDS = ("period",)

    def __init__(self, detail: str, *, period: str) -> None:
        super().__init__(detail)
        self.period = period


class PeriodNotOver(_AboutPeriod):
    """A period can be closed only once it has ended in Vietnam."""

    code = "billing.period_not_over"


class PeriodClosed(_AboutPeriod):
    """A charge would fall into a month already invoiced (only at the turn of a month)."""

    code = "billing.period_closed"


class CreditExceedsInvoice(BillingError):
    code = "billing.credit_exceeds_invoice"
    FIELDS = ("remaining", "asked")

    def __init__(self, detail: str, *, remaining: int, asked: int | None = None) -> None:
        super().__init__(detail)
        self.remaining, self.asked = remaining, asked


class ReservationLost(BillingError):
    """What a request in progress held lapsed while it worked and was given to others: the
    request is refused whole (nothing charged, nothing delivered) and may be sent again."""

    code = "billing.reservation_lost"


class PaymentsDisabled(BillingError):
    """No payment provider is configured (or an organisation asked for one): payments are
    recorded by billing staff."""

    code = "billing.payments_disabled"


class OrganisationMoney(BillingError):
    """Something for personal wallets, asked by a member of an organisation (whose plan pays
    for their signatures)."""

    code = "billing.organisation_account"
