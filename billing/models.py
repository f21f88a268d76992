"""Metering: immutable usage events, one per billable act."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from certs.models import utc_column

__all__ = ["UsageEvent"]


class UsageEvent(SQLModel, table=True):
    """A metered act (a signature, a time-stamp, a verification…). Rows are only inserted.

    ``amount`` is integer VND, VAT included: exactly what the wallet is debited.
    """

    __tablename__ = "usage_event"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True, max_length=36)
    """The account billed: the citizen's own, or their organisation's."""
    user_id: str = Field(index=True, max_length=36)
    product: str = Field(index=True, max_length=32)
    quantity: int = 1
    amount: int = 0
    signature_id: str | None = Field(default=None, unique=True, max_length=36)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    created_at: datetime = Field(sa_column=utc_column(index=True))
