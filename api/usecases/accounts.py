"""Accounts: a citizen registers, an operator or an administrator makes an account, an
administrator makes an organisation (with the billing account its members' acts go to)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import select

from api.usecases.services import Services
from billing.accounts import ORGANISATION, open_account
from identity.accounts import NewUser, create_organisation, create_user, register_citizen
from identity.errors import NotFound
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


def create_organisation_with_account(
    services: Services, command: CreateOrganisation
) -> Organisation:
    """The organisation, and the postpaid billing account its members' acts are charged to."""
    with services.unit_of_work() as session:
        now = services.clock()
        organisation = create_organisation(
            session, name=command.name, kind=command.kind, now=now, actor=command.actor
        )
        open_account(session, organisation.id, kind=ORGANISATION, label=organisation.name,
                     now=now)  # fmt: skip
        return organisation
