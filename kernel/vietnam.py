"""Vietnam's time zone: stored times are UTC, people read them in Asia/Ho_Chi_Minh (UTC+7
all year, no daylight saving time)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["VIETNAM", "local"]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(at: datetime) -> datetime:
    """``at`` (aware) as people in Vietnam read it."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return at.astimezone(VIETNAM)
