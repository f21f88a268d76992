"""A second factor (TOTP): enrolment started, then confirmed with a first code (which gives
the recovery codes)."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from identity.errors import AlreadyExists, InvalidField
from identity.models import User

__all__ = ["ConfirmOtp", "EnrolOtp", "confirm_otp", "enrol_otp"]


@dataclass(frozen=True, kw_only=True)
class EnrolOtp:
    user: User


def enrol_otp(services: Services, command: EnrolOtp) -> tuple[str, str]:
    """The new secret and its ``otpauth://`` URI (for the authenticator app's QR code)."""
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        if user.totp_enabled:
            raise AlreadyExists("a second factor is enrolled already")
        secret, uri = services.identity.codes.begin_enrolment(user)
        session.add(user)
        return secret, uri


@dataclass(frozen=True, kw_only=True)
class ConfirmOtp:
    user: User
    code: str


def confirm_otp(services: Services, command: ConfirmOtp) -> list[str]:
    """The one-time recovery codes, shown once."""
    codes = services.identity.codes
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        if user.totp_enabled:
            raise AlreadyExists("a second factor is enrolled already")
        if user.totp_sealed is None:
            raise InvalidField({"code": "start with POST /v1/me/otp/enrol"})
        if not codes.verify(user, command.code.strip(), services.clock()):
            raise InvalidField({"code": "this code does not match: check the time on your phone"})
        user.totp_enabled = True
        session.add(user)
        return codes.new_recovery_codes(session, user)
