"""A citizen's signing credential issued: a key made in the service under a PIN, a key on the
citizen's own token certified from its CSR, a credential renewed (new key, old superseded) or
reset without the PUK (re-authenticated). Certificate issuance is a metered product (free
under the default citizen plan), charged in the transaction that issues it. An operator may
also certify a key at the desk (``kyso admin issue-cert``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from sqlmodel import Session

from api.usecases.payer import lock_payer
from api.usecases.pin_check import while_pins_in_flight
from api.usecases.services import Services
from billing.charges import Payer, charge
from certs.issuance import issue_signing_certificate, public_key_from_csr
from certs.profiles import SignerSubject
from identity.audit import record_audit, record_ca_key_use
from identity.credentials import NewCredential
from identity.models import User
from identity.pin_resets import require_reset_approval

__all__ = [
    "CertifyKeyAtTheDesk",
    "CertifyOwnKey",
    "IssueCredential",
    "RenewCredential",
    "ResetCredential",
    "certify_at_the_desk",
    "certify_own_key",
    "issue",
    "renew",
    "reset",
]


def _charged(session: Session, payer: Payer, new: NewCredential) -> NewCredential:
    """Charged in the transaction that issued it, whose account lock was taken first."""
    issued = new.credential.id
    charge(session, payer, "certificate.issue", now=new.credential.created_at,
           reference=issued, idempotency_key=f"certificate:{issued}")  # fmt: skip
    return new


@dataclass(frozen=True, kw_only=True)
class IssueCredential:
    """A key generated in the service and sealed under the citizen's PIN (and a new PUK)."""

    user: User
    pin: str


def issue(services: Services, command: IssueCredential) -> NewCredential:
    now = services.clock()
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        payer = lock_payer(session, user, now)  # the account first, then the identity rows
        new = services.identity.credentials.create(session, user, command.pin, now)
        return _charged(session, payer, new)


@dataclass(frozen=True, kw_only=True)
class CertifyOwnKey:
    """A key the citizen holds on a token, certified from its CSR (re-authenticated)."""

    user: User
    csr: bytes
    password: str
    otp: str | None = None


def certify_own_key(services: Services, command: CertifyOwnKey) -> NewCredential:
    now = services.clock()
    identity = services.identity
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        payer = lock_payer(session, user, now)
        identity.sign_in.confirm_presence(session, user, password=command.password,
                                          otp=command.otp, now=now)  # fmt: skip
        new = identity.credentials.create_from_csr(session, user, command.csr, now)
        return _charged(session, payer, new)


@dataclass(frozen=True, kw_only=True)
class RenewCredential:
    """A new key and certificate under the same PIN; the old one superseded."""

    user: User
    credential_id: str
    pin: str


def renew(services: Services, command: RenewCredential) -> NewCredential:
    return while_pins_in_flight(lambda: _renew(services, command))


def _renew(services: Services, command: RenewCredential) -> NewCredential:
    now = services.clock()
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        payer = lock_payer(session, user, now)
        new = services.identity.credentials.renew(session, user, command.credential_id,
                                                  command.pin, now)  # fmt: skip
        return _charged(session, payer, new)


@dataclass(frozen=True, kw_only=True)
class ResetCredential:
    """Without the PUK: re-authenticated with the password and the one-time code (without a
    second factor: approved by a registration officer who saw the citizen), a new key under a
    new PIN; the old one revoked as superseded."""

    user: User
    credential_id: str
    password: str
    otp: str | None = None
    new_pin: str


def reset(services: Services, command: ResetCredential) -> NewCredential:
    now = services.clock()
    identity = services.identity
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        payer = lock_payer(session, user, now)
        identity.credentials.get_own(session, user, command.credential_id)  # another's: 404
        identity.sign_in.confirm_presence(session, user, password=command.password,
                                          otp=command.otp, now=now)  # fmt: skip
        if not user.totp_enabled:  # the password alone is not enough: an officer's approval
            require_reset_approval(session, user, command.credential_id, now)
        new = identity.credentials.reset(session, user, command.credential_id,
                                         command.new_pin, now)  # fmt: skip
        return _charged(session, payer, new)


@dataclass(frozen=True, kw_only=True)
class CertifyKeyAtTheDesk:
    """An operator certifies a key the holder keeps (a token), proofed at the desk."""

    csr: bytes
    subject: SignerSubject
    actor: str


def certify_at_the_desk(services: Services, command: CertifyKeyAtTheDesk) -> x509.Certificate:
    authority = services.runtime.authority
    public_key = public_key_from_csr(command.csr)
    now = services.clock()
    with services.unit_of_work() as session:
        certificate = issue_signing_certificate(
            session, issuing_certificate=authority.issuing, issuing_key=authority.issuing_key,
            subject=command.subject, public_key=public_key, urls=services.runtime.urls, now=now,
            lifetime=timedelta(days=services.runtime.settings.subscriber_validity_days),
        )  # fmt: skip
        serial = format(certificate.serial_number, "x")
        record_audit(session, at=now, actor=command.actor, action="certificate.issue",
                     target=serial, subject=certificate.subject.rfc4514_string(),
                     source="csr")  # fmt: skip
        record_ca_key_use(session, at=now, actor=command.actor,
                          key_id=authority.issuing_key.key_id, purpose="certificate",
                          target=serial)  # fmt: skip
        return certificate
