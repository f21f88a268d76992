"""Tables of billing: accounts, the wallet ledger, plans, packs, usage, invoices.

Money is integer VND everywhere, VAT included unless a column says ``net`` or ``vat``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "BillingAccount",
    "ChargeHold",
    "CreditNote",
    "Invoice",
    "InvoiceLine",
    "LedgerEntry",
    "NumberSeries",
    "PackPurchase",
    "PaymentIntent",
    "PricePlan",
    "UsageCounter",
    "UsageDaily",
    "UsageEvent",
    "UsageRollup",
    "new_id",
]


def new_id() -> str:
    return str(uuid.uuid4())


class _UtcTime(TypeDecorator[datetime]):
    """UTC in storage, timezone-aware when read (SQLite forgets zones). Billing keeps its own
    copy: it depends on no other domain package."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(sa_column=Column(_UtcTime(), nullable=nullable, index=index))


class UsageEvent(SQLModel, table=True):
    """A metered act (a signature, a certificate, a verification…). Rows are only inserted.

    ``amount`` is integer VND, VAT included: exactly what the wallet is debited (0 when a pack,
    a subscription quota or the public-service allowance paid for it; ``funding`` says which).
    """

    __tablename__ = "usage_event"
    __table_args__ = (Index("ix_usage_event_account_time", "account_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True, max_length=36)
    """The account billed: the citizen's own, or their organisation's."""
    user_id: str = Field(index=True, max_length=36)
    product: str = Field(index=True, max_length=32)
    quantity: int = 1
    amount: int = Field(default=0, sa_type=BigInteger)
    plan_code: str | None = Field(default=None, max_length=40)
    plan_version: int | None = None
    tier: str | None = Field(default=None, max_length=40)
    """Which price applied: ``tier:0-999``, ``free``, ``pack``, ``quota``, ``overage``, ``flat``."""
    funding: str | None = Field(default=None, max_length=60)
    """What paid: ``wallet``, ``pack:<id>``, ``quota``, ``allowance`` or ``none``."""
    purpose: str | None = Field(default=None, max_length=32)
    reference: str | None = Field(default=None, max_length=80)
    """What was bought when it is no signature (a credential id, …)."""
    signature_id: str | None = Field(default=None, unique=True, max_length=36)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    created_at: datetime = _utc(index=True)


class BillingAccount(SQLModel, table=True):
    """Whoever pays: a citizen's personal account or an organisation's (``id`` is theirs).

    Prepaid accounts (``credit_limit`` 0) never go below zero; postpaid ones (organisations)
    run a negative balance up to their limit (none when ``credit_limit`` is NULL) and settle it
    by invoice. ``balance`` always equals the sum of the account's ledger entries.
    """

    __tablename__ = "billing_account"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=16)
    label: str = Field(default="", max_length=300)
    plan_code: str = Field(max_length=40)
    balance: int = Field(default=0, sa_type=BigInteger)
    credit_limit: int | None = Field(default=0, sa_type=BigInteger)
    created_at: datetime = _utc()


class LedgerEntry(SQLModel, table=True):
    """One movement of a wallet; only inserted. ``reference`` is unique, so recording the same
    payment, charge or credit twice is impossible."""

    __tablename__ = "wallet_entry"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=24)
    """``top_up``, ``charge``, ``pack_purchase``, ``subscription_fee`` or ``credit_note``."""
    amount: int = Field(sa_type=BigInteger)
    """Signed VND: positive credits the wallet, negative debits it."""
    balance_after: int = Field(sa_type=BigInteger)
    reference: str = Field(unique=True, max_length=200)
    usage_event_id: int | None = Field(default=None, index=True)
    actor: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=300)
    created_at: datetime = _utc(index=True)


class PricePlan(SQLModel, table=True):
    """One version of a price plan; a plan's versions take effect at their ``effective_from``.
    Versions are only added, so every past charge can be explained by the version it names."""

    __tablename__ = "price_plan"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, max_length=40)
    version: int
    name: str = Field(max_length=200)
    terms: str = Field(sa_column=Column(Text, nullable=False))
    """JSON of :class:`billing.plans.PlanTerms`."""
    effective_from: datetime = _utc()
    created_at: datetime = _utc()
    created_by: str = Field(max_length=120)


class PackPurchase(SQLModel, table=True):
    """A pack of signatures bought from the wallet, usable until ``valid_until``."""

    __tablename__ = "pack_purchase"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(index=True, max_length=36)
    pack_code: str = Field(max_length=40)
    signatures: int
    used: int = 0
    price: int = Field(sa_type=BigInteger)
    plan_code: str = Field(max_length=40)
    plan_version: int
    valid_from: datetime = _utc()
    valid_until: datetime = _utc()
    created_at: datetime = _utc()


class UsageCounter(SQLModel, table=True):
    """Running counts the prices depend on (``signatures:2026``, ``allowance:2026-11``,
    ``quota:2026-11``); written only under the account's row lock."""

    __tablename__ = "usage_counter"

    account_id: str = Field(primary_key=True, max_length=36)
    name: str = Field(primary_key=True, max_length=40)
    count: int = 0


class UsageRollup(SQLModel, table=True):
    """Usage per account, product and Vietnamese day, kept in the charge's transaction so that
    reports read a day's summary instead of every event."""

    __tablename__ = "usage_rollup"

    account_id: str = Field(primary_key=True, max_length=36)
    product: str = Field(primary_key=True, max_length=32)
    day: str = Field(primary_key=True, max_length=10)
    count: int = 0
    amount: int = Field(default=0, sa_type=BigInteger)


class UsageDaily(SQLModel, table=True):
    """Usage per product and Vietnamese day across all accounts, in a few shards (an
    account's charges always land in the same one), so that concurrent charges of different
    accounts rarely touch the same row and the monthly report reads a fixed number of rows
    however many events the month holds."""

    __tablename__ = "usage_daily"

    product: str = Field(primary_key=True, max_length=32)
    day: str = Field(primary_key=True, max_length=10)
    shard: int = Field(primary_key=True)
    count: int = 0
    amount: int = Field(default=0, sa_type=BigInteger)


class ChargeHold(SQLModel, table=True):
    """One unit of an act in progress, priced and set aside before its work is done: the
    wallet ``amount`` it will be debited, or the allowance, pack or quota unit that pays for it
    (``counter``, ``pack_id``). Pricing counts the live holds, so no two requests get the same
    money or the same free unit; the charge takes the hold as it was priced. It lives until
    ``expires_at``, which its owner extends while the work runs: only the holds of a request
    whose process died lapse."""

    __tablename__ = "charge_hold"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(index=True, max_length=36)
    amount: int = Field(sa_type=BigInteger)
    expires_at: datetime = _utc()
    owner: str = Field(index=True, max_length=64)
    """Whose hold it is (a signing attempt's id)."""
    product: str = Field(max_length=32)
    purpose: str | None = Field(default=None, max_length=32)
    tier: str = Field(max_length=40)
    funding: str = Field(max_length=60)
    plan_code: str = Field(max_length=40)
    plan_version: int
    counter: str | None = Field(default=None, max_length=40)
    """The usage counter the unit counts in (``allowance:2026-11``, ``quota:2026-11``,
    ``signatures:2026``), bumped when it is charged."""
    pack_id: str | None = Field(default=None, max_length=36)
    """The pack whose unit it holds."""
    created_at: datetime = _utc()


class NumberSeries(SQLModel, table=True):
    """The last number given in a series (``invoice:2026``); gapless because it is taken in the
    transaction that writes the document, under this row's lock."""

    __tablename__ = "number_series"

    name: str = Field(primary_key=True, max_length=40)
    last: int = 0


class Invoice(SQLModel, table=True):
    """A closed month of one account. Never edited: corrections are credit notes."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("account_id", "period"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(unique=True, max_length=40)
    account_id: str = Field(index=True, max_length=36)
    account_label: str = Field(default="", max_length=300)
    period: str = Field(index=True, max_length=7)
    period_start: datetime = _utc()
    period_end: datetime = _utc()
    vat_percent: int
    net: int = Field(sa_type=BigInteger)
    vat: int = Field(sa_type=BigInteger)
    total: int = Field(sa_type=BigInteger)
    issued_at: datetime = _utc()


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: str = Field(index=True, max_length=36)
    product: str = Field(max_length=40)
    tier: str = Field(max_length=40)
    quantity: int
    unit_price: int = Field(sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)


class CreditNote(SQLModel, table=True):
    """A credit against an issued invoice; all of an invoice's notes never exceed its total."""

    __tablename__ = "credit_note"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(unique=True, max_length=40)
    invoice_id: str = Field(index=True, max_length=36)
    account_id: str = Field(index=True, max_length=36)
    amount: int = Field(sa_type=BigInteger)
    net: int = Field(sa_type=BigInteger)
    vat: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=500)
    actor: str = Field(max_length=120)
    issued_at: datetime = _utc()


class PaymentIntent(SQLModel, table=True):
    """A top-up started by a citizen through a payment provider, credited once it is paid."""

    __tablename__ = "payment_intent"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(index=True, max_length=36)
    provider: str = Field(max_length=24)
    amount: int = Field(sa_type=BigInteger)
    status: str = Field(default="pending", max_length=12)
    created_at: datetime = _utc()
    paid_at: datetime | None = _utc(nullable=True)
