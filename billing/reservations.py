"""Holding what an act in progress will cost before its work is done, and charging exactly that.

A request that does slow work between pricing and charging (a signature: PIN, time-stamp,
validation data) reserves its unit first: priced under the account's plan and set aside as a
:class:`~billing.models.ChargeHold`: the wallet amount, or the allowance, pack or quota unit
that pays for it. Pricing counts the live holds, so concurrent requests never both get the same
money or the same free unit, and one that is not covered is refused before any work. The
charge books the hold as it was priced: nothing is priced again after the work. A hold lives
until ``expires_at``; its owner extends it while the work runs (:func:`extend`), so only the
holds of a request whose process died lapse, and their units go back to the account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from billing.accounts import opened_and_locked
from billing.charges import (
    Payer,
    Quote,
    available_funds,
    charge_monthly_fee,
    charge_priced,
    held_units,
    quote,
    refuse_if_closed,
    refuse_unless_covered,
)
from billing.errors import ReservationLost
from billing.models import BillingAccount, ChargeHold, UsageEvent

__all__ = ["charge_reserved", "extend", "release", "reserve"]


def reserve(
    session: Session,
    payer: Payer,
    product: str,
    *,
    purpose: str | None,
    owner: str,
    now: datetime,
    expires_at: datetime,
    locked: BillingAccount | None = None,
) -> ChargeHold:
    """Price one unit of ``product`` and hold it for ``owner`` until ``expires_at``, under the
    account's lock (``locked``: the account, when the caller took it already);
    ``InsufficientFunds`` (nothing held) when the wallet does not cover it. Lapsed holds of
    the account are cleared first. The hold is written with the caller's transaction."""
    account = locked or opened_and_locked(
        session, payer.account_id, kind=payer.kind, label=payer.label, now=now
    )
    _autoflush(session)
    session.execute(_CLEAR_LAPSED, {"account_id": account.id, "now": now})
    _forget(session, lambda hold: hold.account_id == account.id and hold.expires_at <= now)
    holding = held_units(session, account.id, now)
    priced = quote(session, account, product, purpose=purpose, now=now, held=holding)
    available = available_funds(session, account, now, held=holding)
    refuse_unless_covered(priced.amount, available, account)
    held = ChargeHold(
        account_id=account.id,
        amount=priced.amount,
        expires_at=expires_at,
        owner=owner,
        product=product,
        purpose=purpose,
        tier=priced.tier,
        funding=priced.funding,
        plan_code=priced.plan_code,
        plan_version=priced.plan_version,
        counter=priced.counters[0] if priced.counters else None,
        pack_id=priced.pack_id,
        created_at=now,
    )
    session.add(held)
    return held


def _quote_of(held: ChargeHold) -> Quote:
    return Quote(
        amount=held.amount,
        tier=held.tier,
        funding=held.funding,
        plan_code=held.plan_code,
        plan_version=held.plan_version,
        counters=(held.counter,) if held.counter else (),
        pack_id=held.pack_id,
    )


def charge_reserved(
    session: Session,
    payer: Payer,
    owner: str,
    *,
    now: datetime,
    checked_at: datetime,
    signature_id: str | None = None,
    idempotency_key: str | None = None,
    locked: BillingAccount | None = None,
) -> UsageEvent:
    """Charge ``owner``'s hold at the price it was reserved at, dated ``now`` (the act's one
    time), and let it go. A hold that lapsed before ``checked_at`` (the owner was stalled for
    longer than it could extend it) is charged only if what it held is still there for it
    (priced the same now, and covered); otherwise ``ReservationLost`` and nothing is written.
    ``locked``: the account, when the caller took its lock already."""
    account = locked or opened_and_locked(
        session, payer.account_id, kind=payer.kind, label=payer.label, now=now
    )
    held = session.execute(_HELD_BY, {"owner": owner}).scalars().first()
    if held is None:
        raise ReservationLost("the price held for this request was given up; send it again")
    refuse_if_closed(session, account.id, now)
    charge_monthly_fee(session, account, now)
    priced = _quote_of(held)
    if held.expires_at <= checked_at:
        session.delete(held)
        session.flush()  # what it held is counted as free again: is it still there for it?
        again = quote(session, account, held.product, purpose=held.purpose, now=checked_at)
        available = available_funds(session, account, checked_at)
        covered = available is None or available >= held.amount
        if (again.amount, again.funding) != (priced.amount, priced.funding) or not covered:
            raise ReservationLost(
                "this request took longer than its price could be held and what it held is "
                "gone; send it again"
            )
    else:
        session.delete(held)
    return charge_priced(session, account, payer, held.product, priced, now=now,
                         purpose=held.purpose, signature_id=signature_id,
                         idempotency_key=idempotency_key)  # fmt: skip


_HELD_BY = select(ChargeHold).where(ChargeHold.owner == bindparam("owner"))


def release(session: Session, owner: str) -> None:
    """Give back what ``owner`` holds (its request failed)."""
    _autoflush(session)
    session.execute(_RELEASE, {"owner": owner})
    _forget(session, lambda hold: hold.owner == owner)


def extend(session: Session, owner: str, expires_at: datetime) -> int:
    """Keep ``owner``'s holds until ``expires_at``; how many it has."""
    _autoflush(session)
    result = session.execute(_EXTEND, {"holder": owner, "until": expires_at})
    for hold in _in_session(session):
        if hold.owner == owner:
            set_committed_value(hold, "expires_at", expires_at)
    return int(getattr(result, "rowcount", 0) or 0)


# Built once: a signature clears, extends and releases holds on its way (an ORM statement
# built for each cost several times its execution). Holds the session has loaded are kept in
# step, as an ORM statement would.
_HOLDS = ChargeHold.__table__  # type: ignore[attr-defined]
_CLEAR_LAPSED = delete(_HOLDS).where(
    _HOLDS.c.account_id == bindparam("account_id"), _HOLDS.c.expires_at <= bindparam("now")
)
_RELEASE = delete(_HOLDS).where(_HOLDS.c.owner == bindparam("owner"))
_EXTEND = (
    update(_HOLDS)
    .where(_HOLDS.c.owner == bindparam("holder"))
    .values(expires_at=bindparam("until"))
)


def _autoflush(session: Session) -> None:
    """What is pending is written first, when the session writes it before any statement (as
    an ORM statement would; not inside ``no_autoflush``, where a claim writes each row once)."""
    if session.autoflush:
        session.flush()


def _in_session(session: Session) -> list[ChargeHold]:
    return [held for held in session.identity_map.values() if isinstance(held, ChargeHold)]


def _forget(session: Session, deleted: Callable[[ChargeHold], bool]) -> None:
    """Holds the session has loaded that a statement just deleted leave it."""
    for hold in _in_session(session):
        if deleted(hold):
            session.expunge(hold)
