"""Revoking a certificate on an operator's or administrator's authority: the CA's record,
the citizen's credential (its key destroyed), a fresh CRL and the audit record, in one
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from api.bootstrap import Runtime
from certs.crl import publish_crl
from certs.revocation import RevocationReason, parse_serial, revoke
from identity.audit import record_audit, record_ca_key_use
from identity.models import Credential, CredentialStatus

__all__ = ["Revoked", "revoke_certificate"]


@dataclass(frozen=True)
class Revoked:
    serial: str
    reason: str
    revoked_at: datetime
    crl_number: int


def revoke_certificate(
    runtime: Runtime, session: Session, *, serial: str, reason: str, actor: str, now: datetime
) -> Revoked:
    number = parse_serial(serial)
    parsed_reason = RevocationReason.parse(reason)
    authority = runtime.authority
    record = revoke(session, number, parsed_reason, now)
    # A citizen's credential for that certificate ends with it: its key is destroyed.
    for credential in session.exec(select(Credential).where(Credential.serial == record.serial)):
        credential.status = (
            CredentialStatus.SUPERSEDED.value
            if parsed_reason is RevocationReason.SUPERSEDED
            else CredentialStatus.REVOKED.value
        )
        credential.ended_at = now
        credential.sealed_by_pin = credential.sealed_by_puk = None
        session.add(credential)
    if record.issuer == "root":
        issuer_certificate, issuer_key = authority.root, authority.root_key()
    else:
        issuer_certificate, issuer_key = authority.issuing, authority.issuing_key
    crl = publish_crl(
        session,
        issuer=record.issuer,
        issuer_certificate=issuer_certificate,
        issuer_key=issuer_key,
        now=now,
        policy=runtime.settings.crl_policy,
    )
    record_audit(
        session,
        at=now,
        actor=actor,
        action="certificate.revoke",
        target=record.serial,
        reason=parsed_reason.value,
        crl_number=crl.number,
    )
    record_ca_key_use(session, at=now, actor=actor, key_id=issuer_key.key_id, purpose="crl",
                      target=f"{record.issuer}-crl:{crl.number}")  # fmt: skip
    return Revoked(record.serial, parsed_reason.value, now, crl.number)
