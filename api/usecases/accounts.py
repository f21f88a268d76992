"""Accounts: a citizen registers, an operator or an administrator makes an account, an
administrator makes an organisation (with the billing account its members' acts go to)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlmodel import select

from api.usecases.services import Services
from billing.accounts import ORGANISATION, open_account
from identity.accounts import NewUser, create_organisation, create_user, register_citizen
from identity.errors import InvalidField, NotFound
from identity.models import Organisation, User
from identity.passwords import LoginThrottle
from identity.throttles import count_from_source

__all__ = [
    "CreateOrganisation",
    "CreateUser",
    "RegisterCitizen",
    "create_organisation_with_account",
    "create_user_account",
    "register",
]


@dataclass(frozen=True, kw_only=True)
class RegisterCitizen:
    """Self-registration: a citizen at identity level 1."""

    new: NewUser
    source: str | None = None
    """The client's network address: each registration from it is counted (and throttled)."""


def register(services: Services, command: RegisterCitizen) -> User:
    limit = services.runtime.settings.register_source_limit
    if command.source and limit:
        with services.unit_of_work() as session:  # counted whatever comes of it
            count_from_source(session, LoginThrottle(free_failures=limit, what="registrations"),
                              f"kyso-register:{command.source}", services.clock())  # fmt: skip
    with services.unit_of_work() as session:
        return register_citizen(session, services.identity.passwords, command.new, services.clock())


@dataclass(frozen=True, kw_only=True)
class CreateUser:
    """An account made by an operator (the command line) or an administrator (staff)."""

    new: NewUser
    actor: str
    verified: bool = False
    """Identity proofed at the desk: level 2 at once."""
    organisation_name: str | None = None
    """An existing organisation the user belongs to (its account pays for them)."""


def create_user_account(services: Services, command: CreateUser) -> User:
    with services.unit_of_work() as session:
        new = command.new
        if command.organisation_name:
            found = session.exec(
                select(Organisation).where(Organisation.name == command.organisation_name)
            ).first()
            if found is None:
                raise NotFound(f"no organisation named {command.organisation_name!r}")
            new = replace(new, organisation_id=found.id)
        return create_user(session, services.identity.passwords, new, now=services.clock(),
                           actor=command.actor, verified=command.verified)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class CreateOrganisation:
    name: str
    kind: str
    """``agency`` or ``company``."""
    actor: str
    tax_code: str | None = None
    """Its tax code (10 digits, or 13 as ``0123456789-001`` for a branch), for its invoices."""
    address: str | None = None
    """Its address, for its invoices."""


TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")


def _buyer_facts(command: CreateOrganisation) -> tuple[str | None, str | None]:
    tax_code = (command.tax_code or "").strip() or None
    address = " ".join((command.address or "").split()) or None
    if tax_code is not None and not TAX_CODE.fullmatch(tax_code):
        raise InvalidField({"tax_code": "a tax code is 10 digits, or 13 as 0123456789-001"})
    if address is not None and len(address) > 300:
        raise InvalidField({"address": "an address is at most 300 characters"})
    return tax_code, address


def create_organisation_with_account(
    services: Services, command: CreateOrganisation
) -> Organisation:
    """The organisation, and the postpaid billing account its members' acts are charged to."""
    tax_code, address = _buyer_facts(command)
    with services.unit_of_work() as session:
        now = services.clock()
        organisation = create_organisation(
            session, name=command.name, kind=command.kind, now=now, actor=command.actor
        )
        organisation.tax_code, organisation.address = tax_code, address
        session.add(organisation)
        open_account(session, organisation.id, kind=ORGANISATION, label=organisation.name,
                     now=now)  # fmt: skip
        return organisation
