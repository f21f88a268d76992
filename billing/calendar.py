"""Billing periods on the Vietnamese calendar (Asia/Ho_Chi_Minh, UTC+7 all year, no DST).

Stored times are UTC; days, months and years of billing start at midnight in Vietnam, which is
17:00 UTC the evening before.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from billing.errors import InvalidBillingInput
from kernel.vietnam import VIETNAM, local

__all__ = [
    "VIETNAM",
    "add_months",
    "day_key",
    "local",
    "month_bounds",
    "month_key",
    "parse_month",
    "year_bounds",
    "year_key",
]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2999
"""Billing periods kyso accepts (guards the date arithmetic against years 0 and 10000)."""


def day_key(at: datetime) -> str:
    return local(at).strftime("%Y-%m-%d")


def month_key(at: datetime) -> str:
    return local(at).strftime("%Y-%m")


def year_key(at: datetime) -> str:
    return local(at).strftime("%Y")


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM).astimezone(UTC)


def parse_month(period: str) -> date:
    """``YYYY-MM`` → the first day of that month; ``InvalidBillingInput`` otherwise."""
    match = _MONTH.match(period)
    if match is None:
        raise InvalidBillingInput(
            f"a billing period is written YYYY-MM, not {period[:20]!r}", field="period"
        )
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise InvalidBillingInput(
            f"there is no month {month} (months are 01 to 12)", field="period"
        )
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidBillingInput(
            f"billing periods run from {FIRST_YEAR} to {LAST_YEAR}", field="period"
        )
    return date(year, month, 1)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last = (following - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """UTC [start, end) of a Vietnamese calendar month ``YYYY-MM``."""
    first = parse_month(period)
    return _utc_midnight(first), _utc_midnight(add_months(first, 1))


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """UTC [start, end) of a Vietnamese calendar year."""
    return _utc_midnight(date(year, 1, 1)), _utc_midnight(date(year + 1, 1, 1))
