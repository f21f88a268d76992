"""A citizen's PIN: changed with the old one, or, after five wrong ones locked the credential,
unlocked with the PUK given at issuance under a new PIN."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.pin_check import while_pins_in_flight
from api.usecases.services import Services
from identity.models import Credential, User

__all__ = ["ChangePin", "UnlockWithPuk", "change_pin", "unlock_with_puk"]


@dataclass(frozen=True, kw_only=True)
class ChangePin:
    user: User
    credential_id: str
    old_pin: str
    new_pin: str


def change_pin(services: Services, command: ChangePin) -> Credential:
    return while_pins_in_flight(lambda: _change_pin(services, command))


def _change_pin(services: Services, command: ChangePin) -> Credential:
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        return services.identity.credentials.change_pin(
            session, user, command.credential_id, command.old_pin, command.new_pin,
            services.clock(),
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class UnlockWithPuk:
    user: User
    credential_id: str
    puk: str
    new_pin: str


def unlock_with_puk(services: Services, command: UnlockWithPuk) -> Credential:
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        return services.identity.credentials.unlock_with_puk(
            session, user, command.credential_id, command.puk, command.new_pin,
            services.clock(),
        )  # fmt: skip
