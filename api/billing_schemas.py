"""Request and response bodies of the billing API (integer VND, times in UTC ISO 8601)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = [
    "AccountOut",
    "CreditNoteOut",
    "CreditNoteRequest",
    "InvoiceLineOut",
    "InvoiceOut",
    "LedgerEntryOut",
    "PackOffer",
    "PackOut",
    "PackRequest",
    "PaymentStarted",
    "PeriodClose",
    "PlanAssignment",
    "PlanOut",
    "PlanVersionRequest",
    "TopUpRequest",
    "WalletOut",
    "WalletTopUpRequest",
]


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LedgerEntryOut(_FromRow):
    kind: str
    amount: int
    """Signed VND: positive credits the wallet, negative debits it."""
    balance_after: int
    reference: str
    note: str | None
    created_at: datetime


class PlanOut(_FromRow):
    code: str
    version: int
    name: str
    effective_from: datetime
    terms: dict[str, Any]


class PackOffer(BaseModel):
    code: str
    signatures: int
    price: int
    months: int


class PackOut(_FromRow):
    id: str
    pack_code: str
    signatures: int
    used: int
    price: int
    valid_from: datetime
    valid_until: datetime


class WalletOut(BaseModel):
    account_id: str
    kind: str
    """``citizen`` (a personal, prepaid wallet) or ``organisation`` (postpaid)."""
    currency: str = "VND"
    balance: int | None
    """Your wallet's balance; ``null`` for a member of an organisation (its money is not
    shown to every member)."""
    available: int | None
    """What can still be spent now: balance (+ credit) less money held for signatures in
    progress; ``null`` for a postpaid account without a limit."""
    prepaid: bool
    credit_limit: int | None
    plan: PlanOut
    paid_this_year: int
    signatures_this_year: int
    yearly_certificate_price: int
    saved_against_yearly_certificate: int
    """What a yearly certificate would have cost minus what per-use signing cost this year."""
    public_service_allowance_left: int
    packs: list[PackOut]
    entries: list[LedgerEntryOut]
    """The latest wallet movements, newest first, each with the balance after it."""
    top_up_instructions: str
    payment_code: str | None = None
    """Your wallet's payment code: write it as the bank transfer's description (it is the
    same on the wallet page, in its VietQR code and here); ``null`` when your organisation
    pays."""
    vietqr: str | None = None
    """The VietQR (NAPAS EMVCo) text of a transfer to kyso's account with that code, for any
    amount: draw it as a QR code, or hand it to a banking app."""


class WalletTopUpRequest(BaseModel):
    amount: StrictInt = Field(gt=0)


class PaymentStarted(BaseModel):
    payment_id: str
    amount: int
    provider: str
    checkout_url: str


class PackRequest(BaseModel):
    pack: str = Field(min_length=1, max_length=40)


class TopUpRequest(BaseModel):
    email: str | None = Field(default=None, max_length=254)
    account_id: str | None = Field(default=None, max_length=36)
    amount: StrictInt
    reference: str = Field(min_length=1, max_length=120)


class AccountOut(_FromRow):
    id: str
    kind: str
    label: str
    plan_code: str
    balance: int
    credit_limit: int | None
    created_at: datetime


class PlanAssignment(BaseModel):
    plan: str = Field(min_length=1, max_length=40)
    credit_limit: StrictInt | None = Field(default=None, ge=0)


class PlanVersionRequest(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    effective_from: datetime
    terms: dict[str, Any]


class InvoiceLineOut(_FromRow):
    product: str
    tier: str
    quantity: int
    unit_price: int
    amount: int


class CreditNoteOut(_FromRow):
    id: str
    number: str
    invoice_id: str
    amount: int
    net: int
    vat: int
    reason: str
    issued_at: datetime


class InvoiceOut(_FromRow):
    id: str
    number: str
    account_id: str
    account_label: str
    period: str
    period_start: datetime
    period_end: datetime
    vat_percent: int
    net: int
    vat: int
    total: int
    issued_at: datetime
    lines: list[InvoiceLineOut] = []
    credit_notes: list[CreditNoteOut] = []
    credited: int = 0


class CreditNoteRequest(BaseModel):
    amount: StrictInt | None = Field(default=None, gt=0)
    """VND to credit; the whole remainder of the invoice when left out."""
    reason: str = Field(min_length=1, max_length=500)


class PeriodClose(BaseModel):
    period: str
    closed: bool = True
    """The month is over and invoiced: nothing more can be charged into it."""
    invoices: list[InvoiceOut]
    """The invoices this close made (none when every account was invoiced already)."""
    invoices_in_period: int
    """All invoices of the period, these included."""
