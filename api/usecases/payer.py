"""Who pays for a user's acts: their organisation's account, or their own."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from billing.accounts import CITIZEN, ORGANISATION, opened_and_locked
from billing.charges import Payer
from billing.models import BillingAccount
from identity.models import Organisation, User

__all__ = ["lock_payer", "locked_payer", "payer_for"]


def payer_for(session: Session, user: User, *, sponsor: str | None = None) -> Payer:
    """Members of an organisation bill to it; everyone else to a personal account; a
    ``sponsor`` organisation (a portal's, for the signing requests it pays for) before both."""
    if organisation_id := sponsor or user.organisation_id:
        organisation = session.get(Organisation, organisation_id)
        label = organisation.name if organisation is not None else organisation_id
        return Payer(account_id=organisation_id, kind=ORGANISATION, label=label, user_id=user.id)
    return Payer(
        account_id=user.id, kind=CITIZEN, label=f"{user.full_name} <{user.email}>", user_id=user.id
    )


def lock_payer(session: Session, user: User, now: datetime, *, sponsor: str | None = None) -> Payer:
    """The user's payer, its account opened and locked first thing in the transaction: every
    transaction that charges takes the account's lock before any identity row (credential,
    audit head), so no two of them wait on each other in opposite orders."""
    return locked_payer(session, user, now, sponsor=sponsor)[0]


def locked_payer(
    session: Session, user: User, now: datetime, *, sponsor: str | None = None
) -> tuple[Payer, BillingAccount]:
    """:func:`lock_payer`, and the account it locked."""
    payer = payer_for(session, user, sponsor=sponsor)
    account = opened_and_locked(
        session, payer.account_id, kind=payer.kind, label=payer.label, now=now
    )
    return payer, account
