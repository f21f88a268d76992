"""Who pays for a user's acts: their organisation's account, or their own."""

from __future__ import annotations

from sqlmodel import Session

from billing.accounts import CITIZEN, ORGANISATION
from billing.charges import Payer
from identity.models import Organisation, User

__all__ = ["payer_for"]


def payer_for(session: Session, user: User) -> Payer:
    """Members of an organisation bill to it; everyone else to a personal account."""
    if user.organisation_id:
        organisation = session.get(Organisation, user.organisation_id)
        label = organisation.name if organisation is not None else user.organisation_id
        return Payer(
            account_id=user.organisation_id, kind=ORGANISATION, label=label, user_id=user.id
        )
    return Payer(
        account_id=user.id, kind=CITIZEN, label=f"{user.full_name} <{user.email}>", user_id=user.id
    )
