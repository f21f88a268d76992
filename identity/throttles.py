"""Counted failures kept in one table, by the hash of what they are about (an e-mail address,
a client address, an account's one-time codes, a credential's PUK): the throttles' rows."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlmodel import Session

from identity.models import LoginThrottleState
from identity.passwords import LoginThrottle

__all__ = ["OTP_THROTTLE", "PUK_THROTTLE", "throttle_row"]

OTP_THROTTLE = LoginThrottle(
    free_failures=3, max_delay=timedelta(minutes=15), lock_after=1 << 30, what="one-time codes"
)
"""Wrong one-time codes of one account, on every path that takes one: after three, each
attempt waits 2^(n-3) s, at most 15 minutes, and a code sent sooner is refused unchecked."""

PUK_THROTTLE = LoginThrottle(
    free_failures=3, max_delay=timedelta(minutes=15), lock_after=1 << 30, what="PUKs"
)
"""Wrong PUKs of one account, the same way."""


def throttle_row(session: Session, name: str) -> LoginThrottleState:
    """The row counting failures about ``name``, locked for this transaction; a fresh, unsaved
    one when nothing failed yet (it is saved with the first failure)."""
    key = hashlib.sha256(name.encode()).hexdigest()
    state = session.get(LoginThrottleState, key, with_for_update=True)
    return state if state is not None else LoginThrottleState(key=key)
