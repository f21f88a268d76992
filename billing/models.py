"""Metering: immutable usage events, one per billable act."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = ["UsageEvent"]


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
    created_at: datetime = Field(sa_column=Column(_UtcTime(), nullable=False, index=True))
