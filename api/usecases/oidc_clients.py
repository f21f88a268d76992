"""An administrator's relying parties: list, show, remove, rotate a secret (registering one is
``api.usecases.oidc.register``). Called by ``kyso admin oidc-client …`` and the page
``/admin/oidc-clients``."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from identity.oidc_clients import (
    ClientFacts,
    client_facts,
    list_clients,
    remove_client,
    rotate_secret,
)

__all__ = ["ClientFacts", "RemoveClient", "RotateSecret", "clients", "one_client", "remove",
           "rotate"]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RemoveClient:
    client_id: str
    actor: str
    """Who asked (``operator:…`` on the command line, ``user:…`` on the page), for the audit."""


@dataclass(frozen=True, kw_only=True)
class RotateSecret:
    client_id: str
    actor: str


def clients(services: Services) -> list[ClientFacts]:
    with services.reading() as session:
        return list_clients(session, services.clock())


def one_client(services: Services, client_id: str) -> ClientFacts:
    with services.reading() as session:
        return client_facts(session, client_id, services.clock())


def remove(services: Services, command: RemoveClient) -> ClientFacts:
    """The client removed, with everything it was given."""
    with services.unit_of_work() as session:
        return remove_client(session, command.client_id, now=services.clock(),
                             actor=command.actor)  # fmt: skip


def rotate(services: Services, command: RotateSecret) -> str:
    """The new secret, to show once."""
    with services.unit_of_work() as session:
        return rotate_secret(session, command.client_id, now=services.clock(),
                             actor=command.actor)  # fmt: skip
