"""Import a bank statement: each credit whose description holds a wallet's payment code
is recorded as a top-up of that wallet, once (the bank's transaction id is the top-up's
reference, the one billing staff type on the top-ups page too); every other line is listed
with the reason it was left alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from sqlmodel import Session, col, select

from api.usecases.payer import payer_for
from api.usecases.services import Services
from billing.accounts import ORGANISATION, open_account
from billing.errors import ReferenceConflict
from billing.models import BillingAccount
from billing.payment_code import account_id_prefix, codes_in
from billing.statement import StatementLine, parse_statement
from billing.wallet import MAX_TOP_UP, top_up
from identity.audit import record_audit
from identity.models import Organisation, Role, User

__all__ = ["OUTCOMES", "ImportStatement", "LineOutcome", "StatementImported", "import_statement"]

Outcome = Literal["recorded", "already_recorded", "unmatched", "conflict", "not_a_credit"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


@dataclass(frozen=True, kw_only=True)
class ImportStatement:
    statement: bytes
    """The CSV file (see :mod:`billing.statement`)."""
    actor: str


@dataclass(frozen=True)
class LineOutcome:
    line: StatementLine
    outcome: Outcome
    account_id: str | None = None
    reason: str = ""
    """Why a line was not recorded, in words for billing staff."""


@dataclass(frozen=True)
class StatementImported:
    lines: list[LineOutcome]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)


def _accounts_for(session: Session, code: str) -> set[str]:
    """The wallets ``code`` may stand for, opened when their owner has none yet."""
    pattern = account_id_prefix(code) + "%"
    found = set(session.exec(select(BillingAccount.id).where(col(BillingAccount.id).like(pattern))))
    citizens = session.exec(
        select(User).where(col(User.id).like(pattern), User.role == Role.CITIZEN.value)
    )
    organisations = session.exec(select(Organisation).where(col(Organisation.id).like(pattern)))
    found.update(user.id for user in citizens if user.organisation_id is None)
    found.update(o.id for o in organisations)
    return found


def _open(session: Session, account_id: str, services: Services) -> None:
    if session.get(BillingAccount, account_id) is not None:
        return
    user = session.get(User, account_id)
    if user is not None:
        payer = payer_for(session, user)
        open_account(session, account_id, kind=payer.kind, label=payer.label,
                     now=services.clock())  # fmt: skip
        return
    organisation = session.get(Organisation, account_id)
    label = organisation.name if organisation is not None else account_id
    open_account(session, account_id, kind=ORGANISATION, label=label, now=services.clock())


def _one(session: Session, services: Services, line: StatementLine, actor: str) -> LineOutcome:
    if line.amount <= 0:
        return LineOutcome(line, "not_a_credit", reason="not money paid in")
    if line.amount > MAX_TOP_UP:
        return LineOutcome(line, "unmatched", reason=f"more than {MAX_TOP_UP:,} VND at once")
    codes = codes_in(line.description)
    if len(codes) != 1:
        reason = "no payment code" if not codes else "several payment codes"
        return LineOutcome(line, "unmatched", reason=reason)
    accounts = _accounts_for(session, codes[0])
    if len(accounts) != 1:
        reason = "no wallet has this code" if not accounts else "the code fits several wallets"
        return LineOutcome(line, "unmatched", reason=reason)
    (account_id,) = accounts
    _open(session, account_id, services)
    try:
        _, created = top_up(session, account_id, amount=line.amount,
                            reference=line.transaction_id, actor=actor,
                            now=services.clock())  # fmt: skip
    except ReferenceConflict:
        reason = "recorded before with another amount or wallet"
        return LineOutcome(line, "conflict", account_id, reason)
    if not created:
        return LineOutcome(line, "already_recorded", account_id)
    record_audit(session, at=services.clock(), actor=actor, action="billing.top_up",
                 target=account_id, amount=line.amount, reference=line.transaction_id,
                 source="statement")  # fmt: skip
    return LineOutcome(line, "recorded", account_id)


def import_statement(services: Services, command: ImportStatement) -> StatementImported:
    """Every line in one transaction: a statement is recorded whole or not at all, and a
    statement imported again (or a transfer billing staff recorded by hand) records nothing
    new."""
    lines = parse_statement(command.statement)
    with services.unit_of_work() as session:
        return StatementImported([_one(session, services, line, command.actor) for line in lines])
