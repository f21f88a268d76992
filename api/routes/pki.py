"""PKI endpoints for stock clients: CA certificates, CRLs, OCSP (RFC 6960), TSA (RFC 3161)."""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from api.deps import PkiDep, RuntimeDep, ServicesDep
from api.errors import ClientGone, PayloadTooLarge
from api.pki_services import ocsp_answer, tsa_answer
from api.usecases.crl import current_crl
from certs.ocsp import MALFORMED

__all__ = ["router"]

router = APIRouter(prefix="/pki", tags=["pki"])
logger = logging.getLogger("kyso.pki")

PKIX_CERT = "application/pkix-cert"
PKIX_CRL = "application/pkix-crl"
OCSP_RESPONSE = "application/ocsp-response"
TIMESTAMP_REPLY = "application/timestamp-reply"


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone("the client closed the connection before sending its request") from None
    return b"".join(chunks)


@router.get("/ca/root.crt", response_class=Response, summary="Root CA certificate (DER)")
def root_certificate(runtime: RuntimeDep) -> Response:
    der = runtime.authority.root.public_bytes(serialization.Encoding.DER)
    return Response(der, media_type=PKIX_CERT)


@router.get("/ca/issuing.crt", response_class=Response, summary="Issuing CA certificate (DER)")
def issuing_certificate(runtime: RuntimeDep) -> Response:
    der = runtime.authority.issuing.public_bytes(serialization.Encoding.DER)
    return Response(der, media_type=PKIX_CERT)


@router.get("/crl/issuing.crl", response_class=Response, summary="Issuing CA CRL (DER)")
def issuing_crl(services: ServicesDep) -> Response:
    return Response(current_crl(services, "issuing"), media_type=PKIX_CRL)


@router.get("/crl/root.crl", response_class=Response, summary="Root CA CRL (DER)")
def root_crl(services: ServicesDep) -> Response:
    return Response(current_crl(services, "root"), media_type=PKIX_CRL)


def _ocsp_answer(pki: PkiDep, request_der: bytes) -> Response:
    return Response(ocsp_answer(pki, request_der), media_type=OCSP_RESPONSE)


@router.post("/ocsp", response_class=Response, summary="OCSP (RFC 6960), POST binding")
async def ocsp_post(request: Request, runtime: RuntimeDep, pki: PkiDep) -> Response:
    body = await _read_limited(request, runtime.settings.max_pki_request_bytes)
    return _ocsp_answer(pki, body)


@router.get("/ocsp/{encoded:path}", response_class=Response, summary="OCSP, GET binding")
def ocsp_get(encoded: str, runtime: RuntimeDep, pki: PkiDep) -> Response:
    text = unquote(encoded)
    if len(text) > runtime.settings.max_pki_request_bytes:
        raise PayloadTooLarge("the encoded request is too long")
    try:
        request_der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return Response(MALFORMED, media_type=OCSP_RESPONSE)
    return _ocsp_answer(pki, request_der)


@router.post("/tsa", response_class=Response, summary="Time-stamping (RFC 3161)")
async def timestamp(request: Request, runtime: RuntimeDep, pki: PkiDep) -> Response:
    body = await _read_limited(request, runtime.settings.max_pki_request_bytes)
    return Response(tsa_answer(pki, body), media_type=TIMESTAMP_REPLY)
