"""Signing attempts: a request claimed by (user, Idempotency-Key) before any work, moved
through its states by the one worker that holds its lease.

``claim`` runs first, in the transaction that also holds the request's price: the first
request with a key gets a fresh attempt; a repeat of a charged one gets its result to replay;
a repeat while the first is in flight is told to come back (``RequestInProgress``) and touches
nothing; the same key with another request is refused (``IdempotencyConflict``). An attempt
that failed, or whose worker stopped renewing its lease (its process died), is taken over by
the next request with its key. Each later step checks the lease, so a worker that was taken
over cannot move the attempt on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Update, bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from kernel.errors import IdempotencyConflict, RequestInProgress
from signing.errors import AttemptTakenOver
from signing.models import IN_FLIGHT, AttemptState, SigningAttempt

__all__ = ["RETRY_AFTER", "Claim", "claim", "find", "finish", "mark", "renew"]

RETRY_AFTER = 1
"""Seconds a duplicate of a request in flight is asked to wait (a signature takes less)."""


@dataclass(frozen=True)
class Claim:
    """The outcome of :func:`claim`: a fresh attempt to work on, or a finished one to replay."""

    attempt: SigningAttempt
    replay: bool
    lapsed_lease: str | None = None
    """The lease of an in-flight attempt whose worker stopped renewing it, taken over by this
    claim: what that worker held is to be given back."""


def find(session: Session, *, user_id: str, idempotency_key: str) -> SigningAttempt | None:
    """The attempt of this key, read without a lock (the claim decides the races)."""
    return session.exec(_OF_KEY, params={"user_id": user_id, "key": idempotency_key}).first()


_OF_KEY = (
    select(SigningAttempt)
    .where(SigningAttempt.user_id == bindparam("user_id"))
    .where(SigningAttempt.idempotency_key == bindparam("key"))
)
"""Built once (as the other statements here): read for every signing request."""
_OF_KEY_LOCKED = _OF_KEY.with_for_update()


def claim(
    session: Session,
    *,
    user_id: str,
    account_id: str,
    idempotency_key: str,
    request_sha256: str,
    kind: str,
    now: datetime,
    lease_for: timedelta,
) -> Claim:
    """Claim the request (in the caller's transaction, which holds the payer's lock)."""
    found = session.exec(
        _OF_KEY_LOCKED, params={"user_id": user_id, "key": idempotency_key}
    ).first()
    lease = secrets.token_hex(16)
    if found is None:
        attempt = SigningAttempt(
            user_id=user_id, account_id=account_id, idempotency_key=idempotency_key,
            request_sha256=request_sha256, kind=kind, state=AttemptState.RESERVED.value,
            lease=lease, created_at=now, updated_at=now, expires_at=now + lease_for,
        )  # fmt: skip
        session.add(attempt)  # written with the caller's transaction
        return Claim(attempt, replay=False)
    in_flight = found.state in IN_FLIGHT and found.expires_at > now
    if found.request_sha256 != request_sha256 and (
        in_flight or found.state == AttemptState.CHARGED.value
    ):
        raise IdempotencyConflict(
            "this Idempotency-Key was used for a different request; use a new key",
            earlier=found.signature_id,
        )
    if found.state == AttemptState.CHARGED.value:
        return Claim(found, replay=True)
    if in_flight:
        raise RequestInProgress(
            "the request with this Idempotency-Key is still being signed: ask again shortly",
            retry_after=RETRY_AFTER,
        )
    lapsed = found.lease if found.state in IN_FLIGHT else None  # its worker is gone
    found.sqlmodel_update(
        {
            "account_id": account_id, "request_sha256": request_sha256, "kind": kind,
            "state": AttemptState.RESERVED.value, "lease": lease, "units": 1,
            "wallet_amount": 0, "allowance_units": 0, "pack_units": 0, "quota_units": 0,
            "signature_id": None, "result": None, "failure": None,
            "created_at": now, "updated_at": now, "expires_at": now + lease_for,
        }
    )  # fmt: skip
    session.add(found)
    return Claim(found, replay=False, lapsed_lease=lapsed)


def _move(session: Session, attempt_id: str, lease: str, **values: object) -> bool:
    """One statement: the attempt moved on if this worker still holds its lease (the row
    lock the update takes is the attempt's lock). What the session has pending is written
    first (unless inside ``no_autoflush``), and an attempt the session holds shows the new
    values, as an ORM update would."""
    if session.autoflush:
        session.flush()
    moved = session.execute(
        _move_statement(tuple(sorted(values))),
        {"moved_id": attempt_id, "held_lease": lease, **values},
    )
    if not getattr(moved, "rowcount", 0):
        return False
    held = session.identity_map.get(identity_key(SigningAttempt, attempt_id))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)
    return True


@cache
def _move_statement(names: tuple[str, ...]) -> Update:
    """The update of :func:`_move` for one set of columns, built once (an ORM update built for
    every move cost ten times its execution)."""
    rows = SigningAttempt.__table__  # type: ignore[attr-defined]
    return (
        update(rows)
        .where(rows.c.id == bindparam("moved_id"))
        .where(rows.c.lease == bindparam("held_lease"))
        .where(rows.c.state.in_(IN_FLIGHT))
        .values({name: bindparam(name) for name in names})
    )


def _taken_over() -> AttemptTakenOver:
    return AttemptTakenOver(
        "this request took so long that a retry took it over; its result is the retry's"
    )


def mark(
    session: Session, attempt_id: str, lease: str, state: AttemptState, *, now: datetime,
    lease_for: timedelta,
) -> None:  # fmt: skip
    """Move the attempt on (``signed``), renewing its lease; ``AttemptTakenOver`` when it is
    no longer this worker's."""
    if not _move(session, attempt_id, lease, state=state.value, updated_at=now,
                 expires_at=now + lease_for):  # fmt: skip
        raise _taken_over()


def renew(
    session: Session, attempt_id: str, lease: str, *, now: datetime, lease_for: timedelta
) -> bool:
    """Keep the attempt in flight for ``lease_for`` more; False when it is no longer ours."""
    return _move(session, attempt_id, lease, updated_at=now, expires_at=now + lease_for)


def finish(
    session: Session,
    attempt_id: str,
    lease: str,
    state: AttemptState,
    *,
    now: datetime,
    signature_id: str | None = None,
    result: str | None = None,
    failure: str | None = None,
) -> None:
    """The attempt's last state: ``charged`` (with what it delivered) or ``failed``;
    ``AttemptTakenOver`` when it is no longer this worker's."""
    if not _move(session, attempt_id, lease, state=state.value, updated_at=now, expires_at=now,
                 signature_id=signature_id, result=result, failure=failure):  # fmt: skip
        raise _taken_over()
