"""Counted failures kept in one table, by the hash of what they are about (an e-mail address,
a client address, an account's one-time codes, a credential's PUK): the throttles' rows."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from identity.models import LoginThrottleState
from identity.passwords import LoginThrottle

__all__ = ["OTP_THROTTLE", "PUK_THROTTLE", "count_from_source", "source_row", "throttle_row"]

OTP_THROTTLE = LoginThrottle(
    free_failures=3, max_delay=timedelta(minutes=15), what="one-time codes"
)
"""Wrong one-time codes of one account, on every path that takes one: after three, each
attempt waits 2^(n-3) s, at most 15 minutes, and a code sent sooner is refused unchecked."""

PUK_THROTTLE = LoginThrottle(free_failures=3, max_delay=timedelta(minutes=15), what="PUKs")
"""Wrong PUKs of one account, the same way."""


def throttle_row(session: Session, name: str) -> LoginThrottleState:
    """The row counting failures about ``name``, locked for this transaction; a fresh, unsaved
    one when nothing failed yet (it is saved with the first failure)."""
    key = hashlib.sha256(name.encode()).hexdigest()
    state = session.get(LoginThrottleState, key, with_for_update=True)
    return state if state is not None else LoginThrottleState(key=key)


def source_row(
    session: Session, throttle: LoginThrottle, name: str, now: datetime
) -> LoginThrottleState:
    """The row of a client address, checked (``Throttled`` while it must wait); its count
    starts again after a quiet spell of ``throttle.lock_for``."""
    state = throttle_row(session, name)
    if (
        state.last_failed_at is not None
        and state.last_failed_at + throttle.lock_for <= now
        and (state.locked_until is None or state.locked_until <= now)
    ):
        throttle.succeeded(state)
    throttle.check(state, now)
    return state


def count_from_source(session: Session, throttle: LoginThrottle, name: str, now: datetime) -> None:
    """Count one attempt of a client address (whatever comes of it), after checking it may
    make one. Its row is made first if need be (parallel first attempts make it once)."""
    key = hashlib.sha256(name.encode()).hexdigest()
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgres_insert
    session.execute(insert(LoginThrottleState).values(key=key, failures=0).on_conflict_do_nothing())
    state = source_row(session, throttle, name, now)
    throttle.failed(state, now)
    session.add(state)
