"""The caller's own account: profile, second factor, signing credentials, authorisations."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_der_x509_certificate
from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.deps import CallerDep, IdentityDep, SessionDep, require_roles, utc_now
from api.payers import lock_payer, payer_for
from api.schemas import (
    AuthorisationCreated,
    AuthorisationRequest,
    CertificateIssued,
    CertificateRequest,
    CredentialOut,
    CsrRequest,
    Me,
    OtpConfirm,
    OtpConfirmed,
    OtpEnrolment,
    PinChange,
    PinReset,
    PukUnlock,
    RevocationRequest,
)
from billing.charges import charge
from identity.credentials import NewCredential
from identity.errors import AlreadyExists, InvalidField
from identity.models import Credential, Role, User
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/me", tags=["me"])

Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN.value))]


@router.get("", summary="The caller")
def me(caller: CallerDep) -> Me:
    user = caller.user
    return Me(
        id=user.id,
        email=user.email,
        role=Role(user.role),
        full_name=user.full_name,
        identity_level=user.identity_level,
        cccd=user.cccd,
        date_of_birth=user.date_of_birth,
        gender=user.gender,
        phone=user.phone,
        organisation_id=user.organisation_id,
        otp_enabled=user.totp_enabled,
        authenticated_with=list(caller.amr),
    )


@router.post("/otp/enrol", summary="Start second-factor enrolment (TOTP)")
def otp_enrol(caller: CallerDep, session: SessionDep, identity: IdentityDep) -> OtpEnrolment:
    user = session.merge(caller.user)
    if user.totp_enabled:
        raise AlreadyExists("a second factor is enrolled already")
    secret, uri = identity.codes.begin_enrolment(user)
    session.add(user)
    return OtpEnrolment(secret=secret, otpauth_uri=uri)


@router.post("/otp/confirm", summary="Confirm enrolment with a first code; get recovery codes")
def otp_confirm(
    body: OtpConfirm, caller: CallerDep, session: SessionDep, identity: IdentityDep
) -> OtpConfirmed:
    user = session.merge(caller.user)
    if user.totp_enabled:
        raise AlreadyExists("a second factor is enrolled already")
    if user.totp_sealed is None:
        raise InvalidField({"code": "start with POST /v1/me/otp/enrol"})
    if not identity.codes.verify(user, body.code.strip(), utc_now()):
        raise InvalidField({"code": "this code does not match: check the time on your phone"})
    user.totp_enabled = True
    session.add(user)
    codes = identity.codes.new_recovery_codes(session, user)
    return OtpConfirmed(enabled=True, recovery_codes=codes)


def _charged(session: Session, user: User, new: NewCredential, now: datetime) -> NewCredential:
    """Certificate issuance is a metered product (free under the default citizen plan), charged
    in the transaction that issues it (whose account lock ``lock_payer`` took first)."""
    issued = new.credential.id
    charge(session, payer_for(session, user), "certificate.issue", now=now, reference=issued,
           idempotency_key=f"certificate:{issued}")  # fmt: skip
    return new


def _issued(new: NewCredential) -> CertificateIssued:
    return CertificateIssued(
        serial=new.credential.serial,
        certificate=new.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        credential_id=new.credential.id,
        puk=new.puk,
        notice=(
            "Write down this PUK and keep it safe: it is shown only this once. After five "
            "wrong PINs it unlocks your signing certificate. kyso never stores it."
            if new.puk
            else None
        ),
    )


def _out(credential: Credential) -> CredentialOut:
    pem = load_der_x509_certificate(credential.certificate).public_bytes(serialization.Encoding.PEM)
    return CredentialOut(
        credential_id=credential.id,
        serial=credential.serial,
        status=credential.status,
        key_source=credential.key_source,
        key_algorithm=credential.key_algorithm,
        failed_pin_attempts=credential.failed_pin_attempts,
        created_at=credential.created_at,
        not_after=credential.not_after,
        certificate=pem.decode(),
    )


@router.post("/certificate", status_code=201, summary="A signing key and certificate under a PIN")
def create_certificate(
    body: CertificateRequest, caller: Citizen, session: SessionDep, identity: IdentityDep
) -> CertificateIssued:
    user = session.merge(caller.user)
    now = utc_now()
    lock_payer(session, user, now)
    new = identity.credentials.create(session, user, body.pin, now)
    return _issued(_charged(session, user, new, now))


@router.post("/certificate/csr", status_code=201, summary="Certify a key held on your token")
def create_certificate_from_csr(
    body: CsrRequest, caller: Citizen, session: SessionDep, identity: IdentityDep
) -> CertificateIssued:
    user = session.merge(caller.user)
    now = utc_now()
    lock_payer(session, user, now)
    identity.sign_in.confirm_presence(session, user, password=body.password, otp=body.otp, now=now)
    new = identity.credentials.create_from_csr(session, user, body.csr.encode(), now)
    return _issued(_charged(session, user, new, now))


@router.get("/credentials", summary="Your signing credentials, newest first")
def list_credentials(
    caller: Citizen, session: SessionDep, identity: IdentityDep
) -> list[CredentialOut]:
    return [_out(c) for c in identity.credentials.list_own(session, caller.user)]


@router.post("/credentials/{credential_id}/pin", summary="Change the PIN (old PIN → new PIN)")
def change_pin(
    credential_id: str, body: PinChange, caller: Citizen, session: SessionDep,
    identity: IdentityDep,
) -> CredentialOut:  # fmt: skip
    user = session.merge(caller.user)
    return _out(identity.credentials.change_pin(
        session, user, credential_id, body.old_pin, body.new_pin, utc_now()
    ))  # fmt: skip


@router.post("/credentials/{credential_id}/unlock", summary="Unlock with the PUK, set a new PIN")
def unlock(
    credential_id: str, body: PukUnlock, caller: Citizen, session: SessionDep,
    identity: IdentityDep,
) -> CredentialOut:  # fmt: skip
    user = session.merge(caller.user)
    return _out(identity.credentials.unlock_with_puk(
        session, user, credential_id, body.puk, body.new_pin, utc_now()
    ))  # fmt: skip


@router.post("/credentials/{credential_id}/reset", status_code=201,
             summary="Without the PUK: re-authenticate, get a new key and certificate")  # fmt: skip
def reset(
    credential_id: str, body: PinReset, caller: Citizen, session: SessionDep,
    identity: IdentityDep,
) -> CertificateIssued:  # fmt: skip
    user = session.merge(caller.user)
    now = utc_now()
    lock_payer(session, user, now)
    identity.credentials.get_own(session, user, credential_id)  # another's: 404 before anything
    identity.sign_in.confirm_presence(session, user, password=body.password, otp=body.otp, now=now)
    new = identity.credentials.reset(session, user, credential_id, body.new_pin, now)
    return _issued(_charged(session, user, new, now))


@router.post("/credentials/{credential_id}/renew", status_code=201,
             summary="Replace the credential with a new key and certificate")  # fmt: skip
def renew(
    credential_id: str, body: CertificateRequest, caller: Citizen, session: SessionDep,
    identity: IdentityDep,
) -> CertificateIssued:  # fmt: skip
    user = session.merge(caller.user)
    now = utc_now()
    lock_payer(session, user, now)
    new = identity.credentials.renew(session, user, credential_id, body.pin, now)
    return _issued(_charged(session, user, new, now))


@router.post("/credentials/{credential_id}/revoke", summary="Revoke your own certificate")
def revoke_own(
    credential_id: str, body: RevocationRequest, caller: Citizen, session: SessionDep,
    identity: IdentityDep,
) -> CredentialOut:  # fmt: skip
    user = session.merge(caller.user)
    now = utc_now()
    identity.credentials.get_own(session, user, credential_id)  # another's: 404 before anything
    identity.sign_in.confirm_presence(session, user, password=body.password, otp=body.otp, now=now)
    return _out(identity.credentials.revoke_own(session, user, credential_id, body.reason, now))


def _digest(text: str) -> bytes:
    try:
        if all(c in "0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0:
            return bytes.fromhex(text)
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, binascii.Error):
        raise InvalidField({"hashes": f"{text[:20]!r} is neither hex nor base64"}) from None


@router.post("/authorisations", status_code=201,
             summary="Authorise signatures: a single-use SAD bound to these hashes")  # fmt: skip
def authorise(
    body: AuthorisationRequest, caller: Citizen, session: SessionDep, identity: IdentityDep
) -> AuthorisationCreated:
    user = session.merge(caller.user)
    hashes = [_digest(h) for h in body.hashes] if body.hashes else None
    if hashes and any(len(h) not in (32, 48, 64) for h in hashes):
        raise InvalidField({"hashes": "SHA-256, SHA-384 or SHA-512 digests"})
    issued = identity.authoriser.authorise(
        session, user, credential_id=body.credential_id, pin=body.pin, otp=body.otp,
        hashes=hashes, count=body.count, now=utc_now(),
    )  # fmt: skip
    return AuthorisationCreated(
        sad=issued.token, expires_in=issued.expires_in, credential_id=body.credential_id
    )
