"""Opening a citizen's signing key with the PIN (and the one-time code), as a smart card does:
the one-time code checked, one PIN attempt taken before the PIN is tried, the key opened
without any lock held, the attempt settled (a wrong PIN counted, locking at five)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from api.usecases.services import Services
from certs.errors import WrongSecret
from certs.keys import SigningKey
from identity.errors import PinAttemptsBusy
from identity.models import Credential, User

__all__ = ["open_with_pin", "while_pins_in_flight"]

T = TypeVar("T")

PIN_WAIT_SECONDS = 5.0
"""How long a request waits while every attempt left is taken by parallel requests of the
same citizen that are still checking their PIN."""


def open_with_pin(
    services: Services,
    user: User,
    credential: Credential,
    *,
    pin: str,
    otp: str | None,
    now: datetime,
) -> SigningKey:
    """The citizen's key, opened by this request's PIN (and one-time code); each step that
    writes is a short transaction of its own, so a wrong PIN is counted whatever follows."""
    identity = services.identity
    if user.totp_enabled:
        with services.unit_of_work() as session:
            signer_now = session.get(User, user.id)
            assert signer_now is not None
            identity.codes.require(session, signer_now, otp, now, action="signature")
    _spend_pin_attempt(services, user, credential.id)
    try:
        key: SigningKey | None = identity.credentials.unlock(credential, pin)
    except WrongSecret:
        key = None
    except Exception:  # not checked at all (the key token is unavailable): not counted
        with services.unit_of_work() as session:
            identity.credentials.release_pin_attempt(session, user, credential.id)
        raise
    with services.unit_of_work() as session:  # a wrong PIN raises here, counted
        identity.credentials.settle_pin_attempt(
            session, user, credential.id, right=key is not None, now=now
        )
    assert key is not None
    return key


def _spend_pin_attempt(services: Services, user: User, credential_id: str) -> None:
    def spend() -> None:
        with services.unit_of_work() as session:
            services.identity.credentials.spend_pin_attempt(
                session, user, credential_id, now=services.clock()
            )

    while_pins_in_flight(spend)


def while_pins_in_flight(step: Callable[[], T]) -> T:
    """``step`` (one transaction that takes a PIN attempt); while every attempt left is taken
    by parallel requests of the same citizen still checking their PIN, it is tried again until
    they settle (for at most ``PIN_WAIT_SECONDS``)."""
    deadline = time.monotonic() + PIN_WAIT_SECONDS
    while True:
        try:
            return step()
        except PinAttemptsBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
