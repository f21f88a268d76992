"""Billing accounts: opened on first need, locked for every movement of money."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from billing.errors import AccountNotFound, InvalidBillingInput
from billing.models import BillingAccount
from billing.plans import CITIZEN_PLAN, ORGANISATION_PLAN, plan_in_force

__all__ = [
    "CITIZEN",
    "ORGANISATION",
    "locked_account",
    "open_account",
    "opened_and_locked",
    "peek_account",
    "set_plan",
]

CITIZEN = "citizen"
ORGANISATION = "organisation"
_DEFAULT_PLAN = {CITIZEN: CITIZEN_PLAN, ORGANISATION: ORGANISATION_PLAN}


def open_account(
    session: Session, account_id: str, *, kind: str, label: str, now: datetime
) -> None:
    """Make sure the account exists (on the default plan of its kind); concurrent openers of
    the same account do not collide."""
    if kind not in _DEFAULT_PLAN:
        raise InvalidBillingInput(f"unknown account kind {kind!r}", field="kind")
    values = {
        "id": account_id,
        "kind": kind,
        "label": label[:300],
        "balance": 0,
        "plan_code": _DEFAULT_PLAN[kind],
        "created_at": now,
        "credit_limit": 0 if kind == CITIZEN else None,
    }
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(BillingAccount)
    session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["id"]))


def locked_account(session: Session, account_id: str) -> BillingAccount:
    """The account, its row locked until the transaction ends (``SELECT … FOR UPDATE`` on
    PostgreSQL; on SQLite the unit of work's ``BEGIN IMMEDIATE`` already serialises writers)."""
    account = session.exec(_LOCKED, params={"account_id": account_id}).first()
    if account is None:
        raise AccountNotFound("no such billing account", account_id=account_id)
    return account


_LOCKED = (
    select(BillingAccount)
    .where(BillingAccount.id == bindparam("account_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
"""Built once: every charge locks its account."""


def opened_and_locked(
    session: Session, account_id: str, *, kind: str, label: str, now: datetime
) -> BillingAccount:
    """The account locked for this transaction, opened first only if it does not exist yet
    (one statement on the common path, where it does)."""
    try:
        return locked_account(session, account_id)
    except AccountNotFound:
        open_account(session, account_id, kind=kind, label=label, now=now)
        return locked_account(session, account_id)


def set_plan(
    session: Session,
    account_id: str,
    plan_code: str,
    *,
    now: datetime,
    credit_limit: int | None = None,
) -> BillingAccount:
    """Move an account to another plan from now on (past charges keep theirs). A postpaid plan
    takes ``credit_limit`` (``None``: unlimited); a prepaid one never lets the balance go below
    zero."""
    account = locked_account(session, account_id)
    _, terms = plan_in_force(session, plan_code, now)
    if terms.postpaid != (account.kind == ORGANISATION):
        whose = "organisations" if terms.postpaid else "citizens' prepaid wallets"
        raise InvalidBillingInput(
            f"the plan {plan_code!r} is for {whose}; this account is a {account.kind}'s",
            field="plan",
        )
    if credit_limit is not None and credit_limit < 0:
        raise InvalidBillingInput("a credit limit is a non-negative amount", field="credit_limit")
    account.plan_code = plan_code
    account.credit_limit = credit_limit if terms.postpaid else 0
    session.add(account)
    session.flush()
    return account


def peek_account(
    session: Session, account_id: str, *, kind: str, label: str, now: datetime
) -> BillingAccount:
    """The account as it is, or as it would be opened (not written), for reading."""
    account = session.get(BillingAccount, account_id)
    if account is not None:
        return account
    return BillingAccount(
        id=account_id,
        kind=kind,
        label=label,
        plan_code=_DEFAULT_PLAN[kind],
        balance=0,
        credit_limit=0 if kind == CITIZEN else None,
        created_at=now,
    )
