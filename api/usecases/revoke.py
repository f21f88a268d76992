"""Revoking a certificate: by an operator (``kyso admin revoke``) or an administrator (the
certificates page), any certificate the CA issued; by a citizen, their own credential
(re-authenticated). The CA's record, the credential ended with its key, a fresh CRL and the
audit record are written in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from identity.credentials import Revoked
from identity.models import Credential, User

__all__ = ["RevokeCertificate", "RevokeOwnCredential", "revoke_certificate", "revoke_own"]


@dataclass(frozen=True, kw_only=True)
class RevokeCertificate:
    serial: str
    """Hexadecimal."""
    reason: str
    """An RFC 5280 reason name (``keyCompromise``, ``superseded``, …)."""
    actor: str


def revoke_certificate(services: Services, command: RevokeCertificate) -> Revoked:
    with services.unit_of_work() as session:
        return services.identity.credentials.revoke_certificate(
            session, command.serial, command.reason, actor=command.actor, now=services.clock()
        )


@dataclass(frozen=True, kw_only=True)
class RevokeOwnCredential:
    user: User
    credential_id: str
    reason: str
    password: str
    otp: str | None = None


def revoke_own(services: Services, command: RevokeOwnCredential) -> Credential:
    now = services.clock()
    identity = services.identity
    with services.unit_of_work() as session:
        user = session.merge(command.user)
        identity.credentials.get_own(session, user, command.credential_id)  # another's: 404
        identity.sign_in.confirm_presence(session, user, password=command.password,
                                          otp=command.otp, now=now)  # fmt: skip
        return identity.credentials.revoke_own(session, user, command.credential_id,
                                               command.reason, now)  # fmt: skip
