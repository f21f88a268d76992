"""Signing requests over the API: a registered portal asks a citizen to sign PDFs on kyso's
page, polls the status and downloads the signed PDFs (the HTTP adapter of
``api/usecases/signing_requests.py``). The portal authenticates with its OpenID Connect
client credentials (HTTP Basic) or an organisation's API key."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from api.deps import ServicesDep, authenticate
from api.downloads import LargeFileResponse, attachment
from api.usecases import signing_requests
from api.usecases.services import Services
from api.usecases.signing_requests import AskToSign, PortalCaller
from api.web.request_documents import RequestDocuments
from identity import signing_requests as rules
from identity.errors import AccessDenied
from identity.models import SigningRequest

__all__ = ["router", "sign_url"]

router = APIRouter(tags=["signing requests"])


def _portal(request: Request, services: ServicesDep) -> PortalCaller:
    """HTTP Basic with the portal's client_id and client_secret, or an organisation's API
    key (its organisation's portal asks). Checked before the body is read: a caller that is no
    portal is refused (401/403) whatever it sent."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        caller = PortalCaller(client_id=unquote(client_id), client_secret=unquote(secret))
    else:
        principal = authenticate(request, services)
        if principal.via != "api_key":
            raise AccessDenied("a portal asks with its client credentials or an API key")
        caller = PortalCaller(organisation_id=principal.user.organisation_id)
    caller.client(services)  # refuses a caller that is no portal
    return caller


Portal = Annotated[PortalCaller, Depends(_portal)]


class SigningRequestOut(BaseModel):
    id: str
    status: str
    """``pending``, ``signed``, ``declined``, ``expired`` or ``failed``."""
    reason: str | None
    """Why it failed: the refusal's stable code."""
    sign_url: str
    purpose: str
    payer: str
    documents: int
    signed_documents: list[str]
    """Where each signed PDF is downloaded, once signed."""
    created_at: str
    expires_at: str
    decided_at: str | None


def sign_url(services: Services, request_id: str) -> str:
    return f"{services.runtime.urls.base}/signing-requests/{request_id}"


def _out(services: Services, found: SigningRequest) -> SigningRequestOut:
    base = f"{services.runtime.urls.base}/v1/signing-requests/{found.id}/documents"
    signed = rules.signature_ids_of(found)
    return SigningRequestOut(
        id=found.id, status=found.state, reason=found.reason, sign_url=sign_url(services, found.id),
        purpose=found.purpose, payer=found.payer, documents=len(rules.documents_of(found)),
        signed_documents=[f"{base}/{n}" for n in range(1, len(signed) + 1)],
        created_at=found.created_at.isoformat(), expires_at=found.expires_at.isoformat(),
        decided_at=found.decided_at.isoformat() if found.decided_at else None,
    )  # fmt: skip


@router.post("/v1/signing-requests", status_code=201,
             summary="A portal asks a citizen to sign PDFs on kyso's page")  # fmt: skip
def create(
    portal: Portal,
    services: ServicesDep,
    file: Annotated[list[UploadFile], File(description="One to five PDFs to sign")],
    purpose: Annotated[str, Form(max_length=300, description="What the citizen signs")],
    return_url: Annotated[
        str, Form(max_length=2000, description="One of the portal's redirect URIs")
    ],
    sub: Annotated[
        str | None, Form(max_length=100, description="The citizen's pairwise sub (OIDC)")
    ] = None,
    cccd: Annotated[str | None, Form(max_length=12, description="Or the citizen's CCCD")] = None,
    webhook_url: Annotated[
        str | None, Form(max_length=2000, description="One of the portal's webhook URLs")
    ] = None,
    expires_in: Annotated[
        int | None, Form(description="Seconds (1 … 604800; a day by default)")
    ] = None,
    payer: Annotated[str, Form(description="citizen (default) or sponsor")] = "citizen",
) -> SigningRequestOut:
    """201 with the request's ``id``, ``status`` (pending) and ``sign_url``: send the citizen
    there (a redirect, or its QR code). The citizen comes back to ``return_url`` with ``id``
    and ``status``; the webhook (a JWS ES256 signed with a key of ``/oidc/jwks``) says the same."""
    portal.client(services)  # who asks is known before any upload is kept
    store = RequestDocuments(services.runtime.settings)
    documents = store.keep([(f.file, f.filename or "document.pdf") for f in file])
    command = AskToSign(portal=portal, sub=sub or None, cccd=cccd or None, purpose=purpose,
                        return_url=return_url, webhook_url=webhook_url or None,
                        expires_in=expires_in, payer=payer, documents=documents)  # fmt: skip
    try:
        found = signing_requests.ask(services, command)
    except BaseException:
        store.discard(documents[0]["folder"])
        raise
    return _out(services, found)


@router.get("/v1/signing-requests/{request_id}", summary="A signing request's status")
def read(request_id: str, portal: Portal, services: ServicesDep) -> SigningRequestOut:
    return _out(services, signing_requests.status(services, portal, request_id))


@router.get("/v1/signing-requests/{request_id}/documents/{number}",
            response_class=FileResponse, summary="A signed PDF of a signed request")  # fmt: skip
def document(request_id: str, number: int, portal: Portal, services: ServicesDep) -> Any:
    record, path = signing_requests.signed_document(services, portal, request_id, number)
    name = Path(record.filename).stem + "-signed.pdf"
    return LargeFileResponse(path, media_type="application/pdf",
                             headers={"X-Signature-Id": record.id,
                                      "Content-Disposition": attachment(name)})  # fmt: skip
