"""The wallet ledger: every movement of money is one immutable entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from billing.accounts import locked_account
from billing.errors import InvalidBillingInput, ReferenceConflict
from billing.models import BillingAccount, LedgerEntry

__all__ = ["MAX_TOP_UP", "post_entry", "top_up"]

MAX_TOP_UP = 1_000_000_000
"""One billion VND: more than any citizen needs at once, far below any integer limit."""


def post_entry(
    session: Session,
    account: BillingAccount,
    *,
    kind: str,
    amount: int,
    reference: str,
    now: datetime,
    actor: str | None = None,
    usage_event_id: int | None = None,
    note: str | None = None,
) -> LedgerEntry:
    """Move ``amount`` (signed VND) on a locked account and record it; the balance is the sum
    of the entries by construction."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("amounts are integer VND")
    balance = account.balance + amount
    entry = LedgerEntry(
        account_id=account.id,
        kind=kind,
        amount=amount,
        balance_after=balance,
        reference=reference,
        actor=actor,
        usage_event_id=usage_event_id,
        note=note,
        created_at=now,
    )
    session.flush()  # what is pending first (the usage event it debits)
    entry.id = session.execute(
        _APPEND, {name: getattr(entry, name) for name in _ENTRY_COLUMNS}
    ).scalar_one()
    session.execute(_SET_BALANCE, {"account": account.id, "balance": balance})
    set_committed_value(account, "balance", balance)
    return entry


# Built once: every charge moves a wallet (the ORM's flush of the same two rows cost
# several times their statements).
_ACCOUNTS = BillingAccount.__table__  # type: ignore[attr-defined]
_ENTRIES = LedgerEntry.__table__  # type: ignore[attr-defined]
_ENTRY_COLUMNS = tuple(column.name for column in _ENTRIES.columns if column.name != "id")
_SET_BALANCE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account"))
    .values(balance=bindparam("balance"))
)
_APPEND = (
    insert(_ENTRIES)
    .values({name: bindparam(name) for name in _ENTRY_COLUMNS})
    .returning(_ENTRIES.c.id)
)


def top_up(
    session: Session, account_id: str, *, amount: int, reference: str, actor: str, now: datetime
) -> tuple[LedgerEntry, bool]:
    """Credit a payment to the wallet. The payment reference makes it idempotent: the same
    reference, account and amount again returns the first entry (``False``: nothing new);
    the same reference with anything else is a ``ReferenceConflict``."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_TOP_UP:
        raise InvalidBillingInput(
            f"a top-up is a whole number of VND from 1 to {MAX_TOP_UP:,}", field="amount"
        )
    reference = reference.strip()
    if not reference or len(reference) > 120:
        raise InvalidBillingInput(
            "a payment reference is needed (up to 120 characters)", field="reference"
        )
    account = locked_account(session, account_id)
    key = f"top_up:{reference}"
    existing = session.exec(select(LedgerEntry).where(LedgerEntry.reference == key)).first()
    if existing is not None:
        if existing.account_id == account_id and existing.amount == amount:
            return existing, False
        raise ReferenceConflict(
            "this payment reference is recorded already, differently", reference=reference
        )
    return post_entry(
        session, account, kind="top_up", amount=amount, reference=key, now=now, actor=actor
    ), True
