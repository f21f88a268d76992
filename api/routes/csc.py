"""The Cloud Signature Consortium API: remote-signing clients sign with a citizen's credential.

``/csc/v1`` speaks CSC API 1.0.4.0 (what pyHanko's ``CSCSigner`` speaks: ``hash``,
``hashAlgo``), ``/csc/v2`` the 2.0.0.2 field names (``hashes``, ``hashAlgorithmOID``).
Authentication is our OAuth2 bearer token from ``/v1/auth/token``. A SAD from
``credentials/authorize`` is bound to its credential and hashes, single-use and short-lived;
each hash signed by ``signatures/signHash`` is charged (product ``signature.hash``) in the
transaction that signs it. Errors are CSC's ``{"error", "error_description"}``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from fastapi import APIRouter, Body, Depends, Request
from sqlmodel import Session, select

from api.database import unit_of_work
from api.deps import IdentityDep, RuntimeDep, authenticate, get_runtime, utc_now
from api.errors import CscInvalidRequest
from api.identity_services import IdentityServices
from api.payers import lock_payer
from billing.accounts import locked_account
from billing.charges import available_funds, charge, quote, refuse_unless_covered
from certs.keys import KeyAlgorithm
from identity.audit import record_audit
from identity.authorisations import MAX_BATCH
from identity.errors import (
    AccessDenied,
    CredentialLocked,
    CredentialUnusable,
)
from identity.models import Credential, CredentialStatus, Role, User
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/csc", tags=["csc"])

SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
RSA_SHA256 = "1.2.840.113549.1.1.11"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
P256 = "1.2.840.10045.3.1.7"
_SIGN_ALGOS = {
    KeyAlgorithm.ECDSA_P256: (ECDSA_SHA256,),
    KeyAlgorithm.RSA_3072: (RSA_SHA256, RSA_ENCRYPTION),
}
_SPECS = {"v1": "1.0.4.0", "v2": "2.0.0.2"}


def csc_caller(
    request: Request, identity: IdentityDep, runtime: Annotated[Any, Depends(get_runtime)]
) -> Principal:
    """The citizen behind the bearer token (read without a write lock)."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        principal = authenticate(request, session, identity)
    if Role.CITIZEN.value not in principal.roles:
        raise AccessDenied("only citizens hold signing credentials")
    return principal


Caller = Annotated[Principal, Depends(csc_caller)]
JsonBody = Annotated[dict[str, Any] | None, Body()]


def _optional(body: dict[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _text(body, name)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _credential_id(body: dict[str, Any]) -> str:
    value = _text(body, "credentialID")
    if not _UUID.fullmatch(value):
        raise CscInvalidRequest("Invalid parameter credentialID")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if isinstance(value, str) and any(ord(c) < 32 for c in value):
        raise CscInvalidRequest(f"Invalid parameter {name}")
    if not isinstance(value, str) or not value:
        raise CscInvalidRequest(f"Missing (or invalid type) string parameter {name}")
    return value


def _hashes(body: dict[str, Any], name: str) -> list[bytes]:
    raw = body.get(name)
    if not isinstance(raw, list) or not raw or len(raw) > MAX_BATCH:
        raise CscInvalidRequest(
            f"Missing (or invalid) parameter {name}: 1 to {MAX_BATCH} base64 hashes",
        )
    try:
        decoded = [base64.b64decode(h, validate=True) for h in raw]
    except (binascii.Error, TypeError, ValueError):
        raise CscInvalidRequest(f"Invalid base64 in {name}") from None
    if any(len(h) != 32 for h in decoded):
        raise CscInvalidRequest("Only SHA-256 hashes (32 bytes) are accepted")
    return decoded


def _own_credential(
    session: Session, user: User, credential_id: str, *, lock: bool = False
) -> Credential:
    """The caller's credential whose key kyso holds (a key on the citizen's own token cannot
    sign remotely); with ``lock``, its row locked and read afresh."""
    credential = session.get(
        Credential, credential_id, with_for_update=lock, populate_existing=lock
    )
    if credential is None or credential.user_id != user.id or credential.key_source != "service":
        raise CscInvalidRequest("Invalid parameter credentialID")
    return credential


def _info(version: str, base: str) -> dict[str, Any]:
    methods = [
        "credentials/list",
        "credentials/info",
        "credentials/authorize",
        "signatures/signHash",
    ]
    methods.append("credentials/extendTransaction")
    return {
        "specs": _SPECS[version],
        "name": "kyso",
        "logo": f"{base}/pki/ca/root.crt",
        "region": "VN",
        "lang": "vi-VN",
        "description": "kyso: chữ ký số trả theo lượt / per-transaction digital signatures",
        "authType": ["external"],
        "oauth2": f"{base}/v1/auth/token",
        "methods": methods,
        "kyso": {
            "token": f"POST {base}/v1/auth/token (grant_type=password, username, "
            "password, otp): send the access token as 'Authorization: Bearer'"
        },
    }


@router.post("/v1/info", summary="CSC 1.0.4.0: the service")
def info_v1(runtime: RuntimeDep, body: JsonBody = None) -> dict[str, Any]:
    return _info("v1", runtime.urls.base)


@router.post("/v2/info", summary="CSC 2.0.0.2: the service")
def info_v2(runtime: RuntimeDep, body: JsonBody = None) -> dict[str, Any]:
    return _info("v2", runtime.urls.base)


def _list(caller: Principal, runtime: Any, body: dict[str, Any]) -> dict[str, Any]:
    limit = body.get("maxResults", 100)
    if not isinstance(limit, int) or limit < 1:
        raise CscInvalidRequest("Invalid parameter maxResults")
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Credential).where(
                Credential.user_id == caller.user.id,
                Credential.status == CredentialStatus.ACTIVE.value,
                Credential.key_source == "service",
            )
        ).all()
    return {"credentialIDs": [c.id for c in rows][:limit]}


@router.post("/v1/credentials/list", summary="CSC: your credentials")
def list_v1(caller: Caller, runtime: RuntimeDep, body: JsonBody = None) -> dict[str, Any]:
    return _list(caller, runtime, body or {})


@router.post("/v2/credentials/list", summary="CSC: your credentials")
def list_v2(caller: Caller, runtime: RuntimeDep, body: JsonBody = None) -> dict[str, Any]:
    return _list(caller, runtime, body or {})


def _credential_info(
    caller: Principal, runtime: Any, body: dict[str, Any], version: str = "v1"
) -> dict[str, Any]:
    credential_id = _credential_id(body)
    wanted = body.get("certificates", "single")
    if wanted not in ("none", "single", "chain"):
        raise CscInvalidRequest("Invalid parameter certificates")
    with Session(runtime.engine) as session:
        credential = _own_credential(session, caller.user, credential_id)
        user = session.get(User, caller.user.id)
    assert user is not None
    cert = x509.load_der_x509_certificate(credential.certificate)
    authority = runtime.authority
    chain = [cert, authority.issuing, authority.root]
    algorithm = KeyAlgorithm(credential.key_algorithm)
    key: dict[str, Any] = {
        "status": "enabled" if credential.status == "active" else "disabled",
        "algo": list(_SIGN_ALGOS[algorithm]),
    }
    if algorithm is KeyAlgorithm.ECDSA_P256:
        key |= {"len": 256, "curve": P256}
    else:
        key |= {"len": 3072}
    if credential.status == CredentialStatus.REVOKED.value:
        status = "revoked"
    elif cert.not_valid_after_utc <= utc_now():
        status = "expired"
    else:
        status = "valid"  # a locked credential keeps a valid certificate; its key is disabled
    result: dict[str, Any] = {
        "description": f"{user.full_name}: chứng thư ký số / signing certificate",
        "key": key,
        "cert": {
            "status": status,
            "issuerDN": cert.issuer.rfc4514_string(),
            "serialNumber": format(cert.serial_number, "x"),
            "subjectDN": cert.subject.rfc4514_string(),
            "validFrom": cert.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ"),
            "validTo": cert.not_valid_after_utc.strftime("%Y%m%d%H%M%SZ"),
        },
        "authMode": "explicit",
        "SCAL": "2",
        "PIN": {
            "presence": "true",
            "format": "N",
            "label": "PIN",
            "description": "Mã PIN ký số / signing PIN",
        },
        "OTP": {
            "presence": "true" if user.totp_enabled else "false",
            "type": "offline",
            "ID": "totp",
            "provider": "kyso",
            "format": "N",
            "label": "OTP",
            "description": "Mã một lần (ứng dụng xác thực) / one-time code",
        },
        "multisign": MAX_BATCH,
        "lang": "vi-VN",
    }
    if version == "v2":  # 2.0.0.2 describes the authorisation as one "auth" object
        objects = [
            {
                "type": "Password",
                "id": "PIN",
                "format": "N",
                "label": "PIN",
                "description": result["PIN"]["description"],
            }
        ]
        if user.totp_enabled:
            objects.append(
                {
                    "type": "Password",
                    "id": "OTP",
                    "format": "N",
                    "label": "OTP",
                    "description": result["OTP"]["description"],
                }
            )
        result["auth"] = {
            "mode": "explicit",
            "expression": "PIN AND OTP" if user.totp_enabled else "PIN",
            "objects": objects,
        }
        for old in ("authMode", "PIN", "OTP"):
            del result[old]
    if wanted != "none":
        picked = chain if wanted == "chain" else chain[:1]
        result["cert"]["certificates"] = [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in picked
        ]
    return result


@router.post("/v1/credentials/info", summary="CSC: a credential's key, certificates, auth")
def info_credential_v1(
    caller: Caller, runtime: RuntimeDep, body: JsonBody = None
) -> dict[str, Any]:
    return _credential_info(caller, runtime, body or {})


@router.post("/v2/credentials/info", summary="CSC: a credential's key, certificates, auth")
def info_credential_v2(
    caller: Caller, runtime: RuntimeDep, body: JsonBody = None
) -> dict[str, Any]:
    return _credential_info(caller, runtime, body or {}, "v2")


def _authorize(
    caller: Principal,
    runtime: Any,
    identity: IdentityServices,
    body: dict[str, Any],
    hashes_field: str,
) -> dict[str, Any]:
    credential_id = _credential_id(body)
    pin = _text(body, "PIN")
    otp = _optional(body, "OTP")
    if hashes_field not in body:
        raise CscInvalidRequest(
            f"Missing parameter {hashes_field}: kyso binds every SAD to its hashes (SCAL 2)",
        )
    digests = _hashes(body, hashes_field)
    count = body.get("numSignatures", len(digests))
    if count != len(digests):
        raise CscInvalidRequest("numSignatures must equal the number of hashes")
    algorithm = body.get("hashAlgorithmOID", SHA256)
    if algorithm != SHA256:
        raise CscInvalidRequest("Only SHA-256 (2.16.840.1.101.3.4.2.1) is accepted")
    now = utc_now()
    with unit_of_work(runtime.engine) as session:
        user = session.get(User, caller.user.id)
        assert user is not None
        _own_credential(session, user, credential_id)
        issued = identity.authoriser.authorise(
            session,
            user,
            credential_id=credential_id,
            pin=pin,
            otp=otp,
            hashes=digests,
            count=None,
            now=now,
        )
        token, expires_in = issued.token, issued.expires_in
    return {"SAD": token, "expiresIn": expires_in}


@router.post("/v1/credentials/authorize", summary="CSC: PIN (and OTP) → a SAD for these hashes")
def authorize_v1(
    caller: Caller, runtime: RuntimeDep, identity: IdentityDep, body: JsonBody = None
) -> dict[str, Any]:
    return _authorize(caller, runtime, identity, body or {}, "hash")


@router.post("/v2/credentials/authorize", summary="CSC: PIN (and OTP) → a SAD for these hashes")
def authorize_v2(
    caller: Caller, runtime: RuntimeDep, identity: IdentityDep, body: JsonBody = None
) -> dict[str, Any]:
    return _authorize(caller, runtime, identity, body or {}, "hashes")


@router.post("/v1/credentials/extendTransaction", summary="CSC: a new lifetime for a SAD")
@router.post("/v2/credentials/extendTransaction", summary="CSC: a new lifetime for a SAD")
def extend(
    caller: Caller, runtime: RuntimeDep, identity: IdentityDep, body: JsonBody = None
) -> dict[str, Any]:
    data = body or {}
    credential_id, sad = _credential_id(data), _text(data, "SAD")
    with unit_of_work(runtime.engine) as session:
        user = session.get(User, caller.user.id)
        assert user is not None
        _own_credential(session, user, credential_id)
        seconds = identity.authoriser.extend(
            session, sad, credential_id=credential_id, now=utc_now()
        )
    return {"SAD": sad, "expiresIn": seconds}


def _sign_hash(
    caller: Principal,
    runtime: Any,
    identity: IdentityServices,
    body: dict[str, Any],
    hashes_field: str,
    hash_algo_field: str,
) -> dict[str, Any]:
    credential_id, sad = _credential_id(body), _text(body, "SAD")
    sign_algo = _text(body, "signAlgo")
    digests = _hashes(body, hashes_field)
    hash_algo = body.get(hash_algo_field, SHA256 if sign_algo == ECDSA_SHA256 else None)
    if sign_algo in (ECDSA_SHA256, RSA_SHA256) and hash_algo not in (None, SHA256):
        raise CscInvalidRequest(f"Invalid parameter {hash_algo_field}")
    if sign_algo == RSA_ENCRYPTION and hash_algo != SHA256:
        raise CscInvalidRequest(f"{hash_algo_field} is required with rsaEncryption")
    now = utc_now()
    with unit_of_work(runtime.engine) as session:
        user = session.get(User, caller.user.id)
        assert user is not None
        payer = lock_payer(session, user, now)  # the account first, then the credential
        account = locked_account(session, payer.account_id)
        one = quote(session, account, "signature.hash", purpose=None, now=now)
        refuse_unless_covered(
            one.amount * len(digests), available_funds(session, account, now), account
        )  # the whole batch, before any signing
        credential = _own_credential(session, user, credential_id, lock=True)
        if credential.status == CredentialStatus.LOCKED.value:
            raise CredentialLocked(f"the credential is {credential.status}")
        if credential.status != CredentialStatus.ACTIVE.value:
            raise CredentialUnusable(f"the credential is {credential.status}")
        if sign_algo not in _SIGN_ALGOS[KeyAlgorithm(credential.key_algorithm)]:
            raise CscInvalidRequest("Invalid parameter signAlgo for this key")
        row, key = identity.authoriser.consume(
            session,
            sad,
            credential_id=credential_id,
            hashes=digests,
            now=now,
            require_bound=True,
        )
        identity.credentials.confirm_signing(session, credential_id, now)
        signatures = [key.sign_digest(digest, hashes.SHA256()) for digest in digests]
        for index, digest in enumerate(digests):
            charge(
                session,
                payer,
                "signature.hash",
                now=now,
                reference=digest.hex()[:80],
                idempotency_key=f"csc:{row.id}:{index}",
            )
        record_audit(
            session,
            at=now,
            actor=f"user:{user.id}",
            action="signature.hash",
            target=row.id,
            credential_id=credential_id,
            hashes=len(digests),
        )
    return {"signatures": [base64.b64encode(s).decode() for s in signatures]}


@router.post("/v1/signatures/signHash", summary="CSC: sign hashes under a SAD (charged each)")
def sign_hash_v1(
    caller: Caller, runtime: RuntimeDep, identity: IdentityDep, body: JsonBody = None
) -> dict[str, Any]:
    return _sign_hash(caller, runtime, identity, body or {}, "hash", "hashAlgo")


@router.post("/v2/signatures/signHash", summary="CSC: sign hashes under a SAD (charged each)")
def sign_hash_v2(
    caller: Caller, runtime: RuntimeDep, identity: IdentityDep, body: JsonBody = None
) -> dict[str, Any]:
    return _sign_hash(caller, runtime, identity, body or {}, "hashes", "hashAlgorithmOID")
