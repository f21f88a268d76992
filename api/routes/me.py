"""The caller's own account: profile, second factor, signing credentials, authorisations."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_der_x509_certificate
from fastapi import APIRouter, Depends

from api.deps import CallerDep, IdentityDep, ReadSessionDep, ServicesDep, require_roles
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
    OtpDisable,
    OtpEnrol,
    OtpEnrolment,
    PinChange,
    PinReset,
    PukUnlock,
    RevocationRequest,
)
from api.usecases import authorise as authorisation
from api.usecases import credential_pin, issue_credential, revoke, second_factor
from api.usecases.authorise import AuthoriseSignatures
from api.usecases.credential_pin import ChangePin, UnlockWithPuk
from api.usecases.issue_credential import (
    CertifyOwnKey,
    IssueCredential,
    RenewCredential,
    ResetCredential,
)
from api.usecases.revoke import RevokeOwnCredential
from api.usecases.second_factor import ConfirmOtp, DisableOtp, EnrolOtp
from identity.accounts import cccd_of
from identity.credentials import NewCredential
from identity.errors import InvalidField
from identity.models import Credential, Role
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
        cccd=cccd_of(user),
        date_of_birth=user.date_of_birth,
        gender=user.gender,
        phone=user.phone,
        organisation_id=user.organisation_id,
        otp_enabled=user.totp_enabled,
        authenticated_with=list(caller.amr),
    )


@router.post("/otp/enrol", summary="Start second-factor enrolment (TOTP): the password again")
def otp_enrol(body: OtpEnrol, caller: CallerDep, services: ServicesDep) -> OtpEnrolment:
    command = EnrolOtp(user=caller.user, password=body.password, otp=body.otp,
                       api_key=caller.via == "api_key")  # fmt: skip
    secret, uri = second_factor.enrol_otp(services, command)
    return OtpEnrolment(secret=secret, otpauth_uri=uri)


@router.post("/otp/confirm", summary="Confirm enrolment with a first code; get recovery codes")
def otp_confirm(body: OtpConfirm, caller: CallerDep, services: ServicesDep) -> OtpConfirmed:
    command = ConfirmOtp(user=caller.user, code=body.code, api_key=caller.via == "api_key")
    codes = second_factor.confirm_otp(services, command)
    return OtpConfirmed(enabled=True, recovery_codes=codes)


@router.post("/otp/disable", status_code=204,
             summary="Remove the second factor: the password and a current code")  # fmt: skip
def otp_disable(body: OtpDisable, caller: CallerDep, services: ServicesDep) -> None:
    command = DisableOtp(user=caller.user, password=body.password, otp=body.otp,
                         api_key=caller.via == "api_key")  # fmt: skip
    second_factor.disable_otp(services, command)


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
    body: CertificateRequest, caller: Citizen, services: ServicesDep
) -> CertificateIssued:
    return _issued(
        issue_credential.issue(services, IssueCredential(user=caller.user, pin=body.pin))
    )


@router.post("/certificate/csr", status_code=201, summary="Certify a key held on your token")
def create_certificate_from_csr(
    body: CsrRequest, caller: Citizen, services: ServicesDep
) -> CertificateIssued:
    command = CertifyOwnKey(user=caller.user, csr=body.csr.encode(), password=body.password,
                            otp=body.otp)  # fmt: skip
    return _issued(issue_credential.certify_own_key(services, command))


@router.get("/credentials", summary="Your signing credentials, newest first")
def list_credentials(
    caller: Citizen, session: ReadSessionDep, identity: IdentityDep
) -> list[CredentialOut]:
    return [_out(c) for c in identity.credentials.list_own(session, caller.user)]


@router.post("/credentials/{credential_id}/pin", summary="Change the PIN (old PIN → new PIN)")
def change_pin(
    credential_id: str, body: PinChange, caller: Citizen, services: ServicesDep
) -> CredentialOut:
    command = ChangePin(user=caller.user, credential_id=credential_id, old_pin=body.old_pin,
                        new_pin=body.new_pin)  # fmt: skip
    return _out(credential_pin.change_pin(services, command))


@router.post("/credentials/{credential_id}/unlock", summary="Unlock with the PUK, set a new PIN")
def unlock(
    credential_id: str, body: PukUnlock, caller: Citizen, services: ServicesDep
) -> CredentialOut:
    command = UnlockWithPuk(user=caller.user, credential_id=credential_id, puk=body.puk,
                            new_pin=body.new_pin)  # fmt: skip
    return _out(credential_pin.unlock_with_puk(services, command))


@router.post("/credentials/{credential_id}/reset", status_code=201,
             summary="Without the PUK: re-authenticate, get a new key and certificate")  # fmt: skip
def reset(
    credential_id: str, body: PinReset, caller: Citizen, services: ServicesDep
) -> CertificateIssued:
    command = ResetCredential(
        user=caller.user,
        credential_id=credential_id,
        password=body.password,
        otp=body.otp,
        new_pin=body.new_pin,
    )
    return _issued(issue_credential.reset(services, command))


@router.post("/credentials/{credential_id}/renew", status_code=201,
             summary="Replace the credential with a new key and certificate")  # fmt: skip
def renew(
    credential_id: str, body: CertificateRequest, caller: Citizen, services: ServicesDep
) -> CertificateIssued:
    command = RenewCredential(user=caller.user, credential_id=credential_id, pin=body.pin)
    return _issued(issue_credential.renew(services, command))


@router.post("/credentials/{credential_id}/revoke", summary="Revoke your own certificate")
def revoke_own(
    credential_id: str, body: RevocationRequest, caller: Citizen, services: ServicesDep
) -> CredentialOut:
    command = RevokeOwnCredential(
        user=caller.user,
        credential_id=credential_id,
        reason=body.reason,
        password=body.password,
        otp=body.otp,
    )
    return _out(revoke.revoke_own(services, command))


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
    body: AuthorisationRequest, caller: Citizen, services: ServicesDep
) -> AuthorisationCreated:
    hashes = tuple(_digest(h) for h in body.hashes) if body.hashes else None
    if hashes and any(len(h) not in (32, 48, 64) for h in hashes):
        raise InvalidField({"hashes": "SHA-256, SHA-384 or SHA-512 digests"})
    issued = authorisation.authorise(
        services,
        AuthoriseSignatures(user=caller.user, credential_id=body.credential_id, pin=body.pin,
                            otp=body.otp, hashes=hashes, count=body.count),
    )  # fmt: skip
    return AuthorisationCreated(
        sad=issued.token, expires_in=issued.expires_in, credential_id=body.credential_id
    )
