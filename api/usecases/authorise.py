"""Signature authorisation: the PIN (and one-time code) checked once for a SAD bound to a
credential and to hashes (CSC ``credentials/authorize``) or to a number of documents
(``POST /v1/me/authorisations``); and a SAD's lifetime extended (CSC
``credentials/extendTransaction``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from api.usecases.pin_check import while_pins_in_flight
from api.usecases.services import Services
from identity.authorisations import IssuedAuthorisation
from identity.errors import CredentialNotFound
from identity.models import Credential, User

__all__ = [
    "AuthoriseSignatures",
    "ExtendAuthorisation",
    "authorise",
    "extend",
    "remote_credential",
]


def remote_credential(
    session: Session, user: User, credential_id: str, *, lock: bool = False
) -> Credential:
    """The user's credential whose key kyso holds (a key on the citizen's own token cannot
    sign remotely); with ``lock``, its row locked and read afresh."""
    credential = session.get(
        Credential, credential_id, with_for_update=lock, populate_existing=lock
    )
    if credential is None or credential.user_id != user.id or credential.key_source != "service":
        raise CredentialNotFound("Invalid parameter credentialID: no such signing credential")
    return credential


@dataclass(frozen=True, kw_only=True)
class AuthoriseSignatures:
    user: User
    credential_id: str
    pin: str
    otp: str | None = None
    hashes: tuple[bytes, ...] | None = None
    """The digests the SAD may sign (SCAL 2); or ``count`` documents."""
    count: int | None = None
    remote: bool = False
    """For a remote-signing client (CSC): only a key kyso holds."""


def authorise(services: Services, command: AuthoriseSignatures) -> IssuedAuthorisation:
    """Under the credential's row lock; while parallel signatures hold every PIN attempt
    left, waits for them (at most five wrong PINs are checked before the lock)."""
    return while_pins_in_flight(lambda: _authorise(services, command))


def _authorise(services: Services, command: AuthoriseSignatures) -> IssuedAuthorisation:
    with services.unit_of_work() as session:
        user = session.get(User, command.user.id)
        assert user is not None
        if command.remote:
            remote_credential(session, user, command.credential_id)
        return services.identity.authoriser.authorise(
            session, user, credential_id=command.credential_id, pin=command.pin,
            otp=command.otp, hashes=list(command.hashes) if command.hashes else None,
            count=command.count, now=services.clock(),
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ExtendAuthorisation:
    user: User
    credential_id: str
    sad: str


def extend(services: Services, command: ExtendAuthorisation) -> int:
    """The seconds the SAD now has."""
    with services.unit_of_work() as session:
        user = session.get(User, command.user.id)
        assert user is not None
        remote_credential(session, user, command.credential_id)
        return services.identity.authoriser.extend(
            session, command.sad, credential_id=command.credential_id, now=services.clock()
        )
