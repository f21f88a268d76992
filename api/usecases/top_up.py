"""Money into a prepaid wallet: a payment recorded by billing staff (the API, the top-ups
page, ``kyso billing top-up``), idempotent by its reference; or a top-up a citizen starts
through a payment provider and the provider confirms."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from api.usecases.payer import payer_for
from api.usecases.services import Services
from billing.accounts import CITIZEN, locked_account, open_account
from billing.errors import InvalidBillingInput, PaymentsDisabled
from billing.models import BillingAccount, LedgerEntry, PaymentIntent
from billing.payments import PaymentProvider, confirm_payment, start_payment
from billing.wallet import top_up
from identity.accounts import cccd_of
from identity.audit import record_audit
from identity.errors import NotFound
from identity.models import Role, User
from identity.names import normal_email

__all__ = [
    "ConfirmPayment",
    "Payee",
    "RecordTopUp",
    "StartTopUp",
    "ToppedUp",
    "confirm",
    "payee",
    "record_top_up",
    "start",
]


@dataclass(frozen=True, kw_only=True)
class RecordTopUp:
    """A payment billing staff received, into a citizen's wallet (by e-mail) or an account."""

    email: str | None = None
    account_id: str | None = None
    amount: int
    reference: str
    """The payment's own reference (a bank transfer id): the same one records once."""
    actor: str


@dataclass(frozen=True)
class ToppedUp:
    entry: LedgerEntry
    account_id: str
    balance: int
    recorded: bool
    """False: the reference was recorded before, nothing new."""


@dataclass(frozen=True)
class Payee:
    """Whose wallet a top-up by e-mail would credit, as billing staff check it first."""

    full_name: str
    cccd_tail: str
    """The last 4 digits of the CCCD the citizen holds, or claims before proofing."""
    proofed: bool


def payee(services: Services, email: str) -> Payee | None:
    """The citizen ``email`` names, or ``None``: read before a top-up is confirmed."""
    with services.reading() as session:
        user = session.exec(select(User).where(User.email == normal_email(email))).first()
        if user is None or user.role != Role.CITIZEN.value:
            return None
        return Payee(user.full_name, (cccd_of(user) or "")[-4:], proofed=user.cccd is not None)


def record_top_up(services: Services, command: RecordTopUp) -> ToppedUp:
    now = services.clock()
    if (command.email is None) == (command.account_id is None):
        raise InvalidBillingInput("name the account by email or by account_id (one of them)")
    with services.unit_of_work() as session:
        if command.email is not None:
            email = normal_email(command.email)
            user = session.exec(select(User).where(User.email == email)).first()
            if user is None or user.role != Role.CITIZEN.value:
                raise NotFound("no citizen with this email")
            payer = payer_for(session, user)
            open_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
            account_id = payer.account_id
        else:
            account_id = command.account_id or ""
            locked_account(session, account_id)
        entry, created = top_up(session, account_id, amount=command.amount,
                                reference=command.reference, actor=command.actor,
                                now=now)  # fmt: skip
        if created:
            record_audit(session, at=now, actor=command.actor, action="billing.top_up",
                         target=account_id, amount=command.amount,
                         reference=command.reference)  # fmt: skip
        account = session.get(BillingAccount, account_id)
        balance = account.balance if account is not None else 0
        return ToppedUp(entry, account_id, balance, created)


@dataclass(frozen=True, kw_only=True)
class StartTopUp:
    user: User
    amount: int
    provider: PaymentProvider


def start(services: Services, command: StartTopUp) -> PaymentIntent:
    now = services.clock()
    with services.unit_of_work() as session:
        payer = payer_for(session, command.user)
        if payer.kind != CITIZEN:
            raise PaymentsDisabled("organisations settle their invoices by bank transfer")
        open_account(session, payer.account_id, kind=payer.kind, label=payer.label, now=now)
        return start_payment(session, payer.account_id, command.amount, command.provider, now)


@dataclass(frozen=True, kw_only=True)
class ConfirmPayment:
    user: User
    payment_id: str
    provider: str


def confirm(services: Services, command: ConfirmPayment) -> LedgerEntry:
    """The provider says it is paid: credited once, whichever process hears it."""
    with services.unit_of_work() as session:
        payer = payer_for(session, command.user)
        return confirm_payment(session, command.payment_id, provider=command.provider,
                               account_id=payer.account_id, now=services.clock())  # fmt: skip
