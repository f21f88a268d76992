"""The Cloud Signature Consortium API: remote-signing clients sign with a citizen's credential.

``/csc/v1`` speaks CSC API 1.0.4.0 (what pyHanko's ``CSCSigner`` speaks: ``hash``,
``hashAlgo``), ``/csc/v2`` the 2.0.0.2 field names (``hashes``, ``hashAlgorithmOID``).
Authentication is our OAuth2 bearer token from ``/v1/auth/token``. This module only reads
CSC's bodies and writes CSC's answers: ``credentials/authorize`` and ``extendTransaction`` are
the authorisation use case, ``signatures/signHash`` the sign-hashes use case (each hash charged
in the transaction that signs it; a repeat of the same request within the SAD's lifetime gets
the same signatures, charged once). Errors are CSC's ``{"error", "error_description"}``, a
view of the one error table (``api/errors.py``).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Body, Depends, Request
from sqlmodel import select

from api.deps import ServicesDep, authenticate, utc_now
from api.errors import CscInvalidRequest
from api.usecases import authorise as authorisation
from api.usecases import csc_oauth
from api.usecases.authorise import AuthoriseSignatures, ExtendAuthorisation, remote_credential
from api.usecases.csc_oauth import CscCall
from api.usecases.services import Services
from api.usecases.sign_hashes import (
    ECDSA_SHA256,
    RSA_ENCRYPTION,
    RSA_SHA256,
    SIGN_ALGORITHMS,
    SignHashes,
    sign_hashes,
)
from certs.keys import KeyAlgorithm
from identity.authorisations import MAX_BATCH
from identity.csc_oauth import is_csc_token
from identity.errors import AccessDenied, AuthorisationInvalid
from identity.models import Credential, CredentialStatus, Role, User
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/csc", tags=["csc"])

SHA256 = "2.16.840.1.101.3.4.2.1"
P256 = "1.2.840.10045.3.1.7"
_SPECS = {"v1": "1.0.4.0", "v2": "2.0.0.2"}


def csc_caller(request: Request, services: ServicesDep) -> CscCall:
    """The citizen behind the bearer token: their own kyso token (or API key), or a CSC
    OAuth 2.0 access token a portal got on their yes (``/csc/v2/oauth2/…``)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and is_csc_token(value.strip()):
        call = csc_oauth.caller(services, value.strip())
    else:
        call = CscCall(authenticate(request, services))
    if Role.CITIZEN.value not in call.principal.roles:
        raise AccessDenied("only citizens hold signing credentials")
    return call


Caller = Annotated[CscCall, Depends(csc_caller)]


def _no_grant(call: CscCall, method: str) -> Principal:
    """Methods a CSC OAuth token does not open: the citizen's PIN is typed on kyso's page."""
    if call.grant is not None:
        raise AccessDenied(
            f"{method} takes the citizen's own token: a portal's OAuth 2.0 access token "
            "is authorised on kyso's page (scope credential) and signs with signHash"
        )
    return call.principal


def _describing(call: CscCall, credential_id: str | None = None) -> Principal:
    """credentials/list and credentials/info: the citizen's own token, a ``service`` token, or
    a ``credential`` token about its own credential."""
    grant = call.grant
    if (
        grant is not None
        and grant.scope != "service"
        and (credential_id is None or credential_id != grant.credential_id)
    ):
        raise AccessDenied("this access token has scope credential: it describes its credential")
    return call.principal


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


def _info(version: str, base: str) -> dict[str, Any]:
    """The service; v2 also authorises through OAuth 2.0 (``{oauth2}/oauth2/authorize``)."""
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
    } | (_oauth2_info(base) if version == "v2" else {})


def _oauth2_info(base: str) -> dict[str, Any]:
    return {
        "authType": ["external", "oauth2code"],
        "oauth2": f"{base}/csc/v2",
        "oauth2Issuer": base,
        "kyso": {
            "token": f"POST {base}/v1/auth/token (grant_type=password, username, "
            "password, otp): send the access token as 'Authorization: Bearer'",
            "oauth2": f"portals: GET {base}/csc/v2/oauth2/authorize (PKCE S256, scope service "
            f"or credential), POST {base}/csc/v2/oauth2/token, POST {base}/csc/v2/oauth2/revoke",
        },
    }


@router.post("/v1/info", summary="CSC 1.0.4.0: the service")
def info_v1(services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _info("v1", services.runtime.urls.base)


@router.post("/v2/info", summary="CSC 2.0.0.2: the service")
def info_v2(services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _info("v2", services.runtime.urls.base)


def _list(call: CscCall, services: Services, body: dict[str, Any]) -> dict[str, Any]:
    caller = _describing(call)
    limit = body.get("maxResults", 100)
    if not isinstance(limit, int) or limit < 1:
        raise CscInvalidRequest("Invalid parameter maxResults")
    with services.reading() as session:
        rows = session.exec(
            select(Credential).where(
                Credential.user_id == caller.user.id,
                Credential.status == CredentialStatus.ACTIVE.value,
                Credential.key_source == "service",
            )
        ).all()
    return {"credentialIDs": [c.id for c in rows][:limit]}


@router.post("/v1/credentials/list", summary="CSC: your credentials")
def list_v1(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _list(call, services, body or {})


@router.post("/v2/credentials/list", summary="CSC: your credentials")
def list_v2(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _list(call, services, body or {})


_PIN_WORDS = "Mã PIN ký số / signing PIN"
_OTP_WORDS = "Mã một lần (ứng dụng xác thực) / one-time code"


def _key_info(credential: Credential) -> dict[str, Any]:
    algorithm = KeyAlgorithm(credential.key_algorithm)
    key: dict[str, Any] = {
        "status": "enabled" if credential.status == "active" else "disabled",
        "algo": list(SIGN_ALGORITHMS[algorithm]),
    }
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return key | {"len": 256, "curve": P256}
    return key | {"len": 3072}


def _cert_info(
    credential: Credential, chain: list[x509.Certificate], wanted: str
) -> dict[str, Any]:
    cert = chain[0]
    if credential.status == CredentialStatus.REVOKED.value:
        status = "revoked"
    elif cert.not_valid_after_utc <= utc_now():
        status = "expired"
    else:
        status = "valid"  # a locked credential keeps a valid certificate; its key is disabled
    info: dict[str, Any] = {
        "status": status,
        "issuerDN": cert.issuer.rfc4514_string(),
        "serialNumber": format(cert.serial_number, "x"),
        "subjectDN": cert.subject.rfc4514_string(),
        "validFrom": cert.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ"),
        "validTo": cert.not_valid_after_utc.strftime("%Y%m%d%H%M%SZ"),
    }
    if wanted != "none":
        picked = chain if wanted == "chain" else chain[:1]
        info["certificates"] = [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in picked
        ]
    return info


OAUTH2_AUTH_V1 = {"authMode": "oauth2code"}
OAUTH2_AUTH_V2 = {"auth": {"mode": "oauth2code"}}
"""What a portal calling with a CSC OAuth token is told: the credential is authorised on
kyso's page (``oauth2/authorize`` with scope ``credential``), never with a PIN it sends."""


def _auth_v1(user: User) -> dict[str, Any]:
    """1.0.4.0: ``authMode``, ``PIN`` and ``OTP``."""
    return {
        "authMode": "explicit",
        "PIN": {"presence": "true", "format": "N", "label": "PIN", "description": _PIN_WORDS},
        "OTP": {
            "presence": "true" if user.totp_enabled else "false",
            "type": "offline",
            "ID": "totp",
            "provider": "kyso",
            "format": "N",
            "label": "OTP",
            "description": _OTP_WORDS,
        },
    }


def _auth_v2(user: User) -> dict[str, Any]:
    """2.0.0.2 describes the authorisation as one ``auth`` object."""
    objects = [{"type": "Password", "id": "PIN", "format": "N", "label": "PIN",
                "description": _PIN_WORDS}]  # fmt: skip
    if user.totp_enabled:
        objects.append({"type": "Password", "id": "OTP", "format": "N", "label": "OTP",
                        "description": _OTP_WORDS})  # fmt: skip
    expression = "PIN AND OTP" if user.totp_enabled else "PIN"
    return {"auth": {"mode": "explicit", "expression": expression, "objects": objects}}


def _credential_info(
    call: CscCall, services: Services, body: dict[str, Any], version: str = "v1"
) -> dict[str, Any]:
    credential_id = _credential_id(body)
    caller = _describing(call, credential_id)
    wanted = body.get("certificates", "single")
    if wanted not in ("none", "single", "chain"):
        raise CscInvalidRequest("Invalid parameter certificates")
    with services.reading() as session:
        credential = remote_credential(session, caller.user, credential_id)
        user = session.get(User, caller.user.id)
    assert user is not None
    authority = services.runtime.authority
    chain = [x509.load_der_x509_certificate(credential.certificate), authority.issuing,
             authority.root]  # fmt: skip
    return {
        "description": f"{user.full_name}: chứng thư ký số / signing certificate",
        "key": _key_info(credential),
        "cert": _cert_info(credential, chain, wanted),
        **_auth(user, version, oauth2=call.grant is not None),
        "SCAL": "2",
        "multisign": MAX_BATCH,
        "lang": "vi-VN",
    }


@router.post("/v1/credentials/info", summary="CSC: a credential's key, certificates, auth")
def info_credential_v1(
    call: Caller, services: ServicesDep, body: JsonBody = None
) -> dict[str, Any]:
    return _credential_info(call, services, body or {})


@router.post("/v2/credentials/info", summary="CSC: a credential's key, certificates, auth")
def info_credential_v2(
    call: Caller, services: ServicesDep, body: JsonBody = None
) -> dict[str, Any]:
    return _credential_info(call, services, body or {}, "v2")


def _auth(user: User, version: str, *, oauth2: bool) -> dict[str, Any]:
    if oauth2:
        return OAUTH2_AUTH_V2 if version == "v2" else OAUTH2_AUTH_V1
    return _auth_v2(user) if version == "v2" else _auth_v1(user)


def _authorize(
    call: CscCall, services: Services, body: dict[str, Any], hashes_field: str
) -> dict[str, Any]:
    caller = _no_grant(call, "credentials/authorize")
    credential_id = _credential_id(body)
    pin = _text(body, "PIN")
    otp = _optional(body, "OTP")
    if hashes_field not in body:
        raise CscInvalidRequest(
            f"Missing parameter {hashes_field}: kyso binds every SAD to its hashes (SCAL 2)"
        )
    digests = _hashes(body, hashes_field)
    if body.get("numSignatures", len(digests)) != len(digests):
        raise CscInvalidRequest("numSignatures must equal the number of hashes")
    if body.get("hashAlgorithmOID", SHA256) != SHA256:
        raise CscInvalidRequest("Only SHA-256 (2.16.840.1.101.3.4.2.1) is accepted")
    issued = authorisation.authorise(
        services,
        AuthoriseSignatures(user=caller.user, credential_id=credential_id, pin=pin, otp=otp,
                            hashes=tuple(digests), remote=True),
    )  # fmt: skip
    return {"SAD": issued.token, "expiresIn": issued.expires_in}


@router.post("/v1/credentials/authorize", summary="CSC: PIN (and OTP) → a SAD for these hashes")
def authorize_v1(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _authorize(call, services, body or {}, "hash")


@router.post("/v2/credentials/authorize", summary="CSC: PIN (and OTP) → a SAD for these hashes")
def authorize_v2(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _authorize(call, services, body or {}, "hashes")


@router.post("/v1/credentials/extendTransaction", summary="CSC: a new lifetime for a SAD")
@router.post("/v2/credentials/extendTransaction", summary="CSC: a new lifetime for a SAD")
def extend(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    data = body or {}
    caller = _no_grant(call, "credentials/extendTransaction")
    credential_id, sad = _credential_id(data), _text(data, "SAD")
    seconds = authorisation.extend(
        services, ExtendAuthorisation(user=caller.user, credential_id=credential_id, sad=sad)
    )
    return {"SAD": sad, "expiresIn": seconds}


def _granted_sad(call: CscCall, credential_id: str) -> str:
    """A ``credential`` token's SAD (CSC 2.0.0.2: no ``SAD`` with such a token), only for its
    credential."""
    grant = call.grant
    assert grant is not None
    if grant.scope != "credential" or grant.sad is None:
        raise AccessDenied("signHash needs an access token with scope credential")
    if credential_id != grant.credential_id:
        raise AuthorisationInvalid("this access token is for another credential")
    return grant.sad


def _sign_hash(
    call: CscCall, services: Services, body: dict[str, Any], hashes_field: str,
    hash_algo_field: str,
) -> dict[str, Any]:  # fmt: skip
    caller, credential_id = call.principal, _credential_id(body)
    sad = _text(body, "SAD") if call.grant is None else _granted_sad(call, credential_id)
    sign_algo = _text(body, "signAlgo")
    digests = _hashes(body, hashes_field)
    hash_algo = body.get(hash_algo_field, SHA256 if sign_algo == ECDSA_SHA256 else None)
    if sign_algo in (ECDSA_SHA256, RSA_SHA256) and hash_algo not in (None, SHA256):
        raise CscInvalidRequest(f"Invalid parameter {hash_algo_field}")
    if sign_algo == RSA_ENCRYPTION and hash_algo != SHA256:
        raise CscInvalidRequest(f"{hash_algo_field} is required with rsaEncryption")
    signatures = sign_hashes(
        services,
        SignHashes(user=caller.user, credential_id=credential_id, sad=sad,
                   hashes=tuple(digests), sign_algo=sign_algo),
    )  # fmt: skip
    return {"signatures": [base64.b64encode(s).decode() for s in signatures]}


@router.post("/v1/signatures/signHash", summary="CSC: sign hashes under a SAD (charged each)")
def sign_hash_v1(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _sign_hash(call, services, body or {}, "hash", "hashAlgo")


@router.post("/v2/signatures/signHash", summary="CSC: sign hashes under a SAD (charged each)")
def sign_hash_v2(call: Caller, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return _sign_hash(call, services, body or {}, "hashes", "hashAlgorithmOID")
