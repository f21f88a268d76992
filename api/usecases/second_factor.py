"""A second factor (TOTP): enrolment started with the password again, then confirmed with a
first code (which gives the recovery codes); disabled with the password and a current code.
None of it by an API key: a system acting for its owner does not choose the owner's factors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from api.usecases.services import Services
from identity.audit import record_audit
from identity.errors import AccessDenied, AlreadyExists, InvalidField
from identity.models import RecoveryCode, User

__all__ = ["ConfirmOtp", "DisableOtp", "EnrolOtp", "confirm_otp", "disable_otp", "enrol_otp"]


def _not_by_api_key(api_key: bool) -> None:
    if api_key:
        raise AccessDenied("an API key cannot change its owner's second factor")


@dataclass(frozen=True, kw_only=True)
class _StepUp:
    """A change to the second factor: the owner proves it is them again."""

    user: User
    password: str
    otp: str | None = None
    """A current code, when a factor is enrolled."""
    api_key: bool = False
    """Whether the request came with an API key (refused)."""


@contextmanager
def _stepped_up(services: Services, command: _StepUp) -> Iterator[tuple[Session, User, datetime]]:
    """A unit of work whose user proved it is them: not an API key, the password again and
    the current code when one is enrolled."""
    _not_by_api_key(command.api_key)
    now = services.clock()
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        services.identity.sign_in.confirm_presence(session, user, password=command.password,
                                                   otp=command.otp, now=now)  # fmt: skip
        yield session, user, now


@dataclass(frozen=True, kw_only=True)
class EnrolOtp(_StepUp):
    pass


def enrol_otp(services: Services, command: EnrolOtp) -> tuple[str, str]:
    """The new secret and its ``otpauth://`` URI (for the authenticator app's QR code), after
    the password again; replacing a factor means disabling it first (with a current code)."""
    with _stepped_up(services, command) as (session, user, now):
        if user.totp_enabled:
            raise AlreadyExists(
                "a second factor is enrolled already: disable it (POST /v1/me/otp/disable) "
                "with your password and a current code, then enrol the new one"
            )
        secret, uri = services.identity.codes.begin_enrolment(user)
        session.add(user)
        record_audit(session, at=now, actor=f"user:{user.id}", action="otp.enrol_start",
                     target=user.id)  # fmt: skip
        return secret, uri


@dataclass(frozen=True, kw_only=True)
class ConfirmOtp:
    user: User
    code: str
    api_key: bool = False


def confirm_otp(services: Services, command: ConfirmOtp) -> list[str]:
    """The one-time recovery codes, shown once."""
    _not_by_api_key(command.api_key)
    codes = services.identity.codes
    now = services.clock()
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        if user.totp_enabled:
            raise AlreadyExists("a second factor is enrolled already")
        if user.totp_sealed is None:
            raise InvalidField({"code": "start with POST /v1/me/otp/enrol"})
        if not codes.verify(user, command.code.strip(), now):
            raise InvalidField({"code": "this code does not match: check the time on your phone"})
        user.totp_enabled = True
        session.add(user)
        record_audit(session, at=now, actor=f"user:{user.id}", action="otp.enable",
                     target=user.id)  # fmt: skip
        return codes.new_recovery_codes(session, user)


@dataclass(frozen=True, kw_only=True)
class DisableOtp(_StepUp):
    pass


def disable_otp(services: Services, command: DisableOtp) -> None:
    """The password and a current code (or a recovery code): the factor and its recovery
    codes are gone."""
    with _stepped_up(services, command) as (session, user, now):
        if not user.totp_enabled and user.totp_sealed is None:
            raise InvalidField({"otp": "no second factor is enrolled"})
        user.totp_enabled = False
        user.totp_sealed = None
        session.add(user)
        _forget_recovery_codes(session, user)
        record_audit(session, at=now, actor=f"user:{user.id}", action="otp.disable",
                     target=user.id)  # fmt: skip


def _forget_recovery_codes(session: Session, user: User) -> None:
    for code in session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(code)
