"""``POST /v1/signatures/pdf``: the PDF as the request body, written to disk as it arrives.

The same signature and charge as the multipart form of ``POST /v1/signatures``, for clients
that send large documents: no multipart parsing, no spooled copy, the document hashed while it
streams in. The options are query parameters; the secrets (PIN, batch authorisation, one-time
code) are headers, so that they never appear in a URL or an access log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from api.deps import ServicesDep
from api.errors import ClientGone
from api.file_digests import FileReceiver, ReceivedFile, upload_folder
from api.routes.signatures import Citizen, IdempotencyKey, delivered
from api.usecases import sign_document
from api.usecases.sign_document import SignDocument
from signing.errors import NotAPdf

__all__ = ["router"]

router = APIRouter(tags=["signatures"])

PDF = "application/pdf"
_BODY = {
    "requestBody": {
        "required": True,
        "description": "The PDF to sign, as the whole body (Content-Type: application/pdf)",
        "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _receive_body(request: Request, destination: Path) -> ReceivedFile:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != PDF:
        raise NotAPdf("send the PDF as the request body with Content-Type: application/pdf")
    receiver = FileReceiver(destination)
    try:
        async for piece in request.stream():
            if receiver.add(piece):  # hashed here; each MiB written by a worker thread
                await run_in_threadpool(receiver.flush)
        return await run_in_threadpool(receiver.finish)
    except ClientDisconnect:
        raise ClientGone("the client closed the connection before sending its document") from None
    finally:
        receiver.close()


@router.post("/v1/signatures/pdf", response_class=FileResponse, status_code=200,
             summary="Sign a PDF sent as the request body (PAdES) and charge it",
             openapi_extra=_BODY)  # fmt: skip
async def create_signature_from_body(
    request: Request,
    caller: Citizen,
    services: ServicesDep,
    pin: Annotated[str | None, Header(alias="Kyso-PIN", description="the signing PIN")] = None,
    sad: Annotated[
        str | None,
        Header(
            alias="Kyso-SAD",
            max_length=200,
            description="instead of the PIN: a batch signature authorisation",
        ),
    ] = None,
    otp: Annotated[str | None, Header(alias="Kyso-OTP")] = None,
    level: Annotated[str, Query()] = "B-LT",
    reason: Annotated[str | None, Query(max_length=200)] = None,
    location: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int | None, Query(description="1-based page for the stamp")] = None,
    rect: Annotated[str | None, Query(description="x1,y1,x2,y2 in PDF points")] = None,
    field: Annotated[str | None, Query(description="an existing empty signature field")] = None,
    invisible: Annotated[bool, Query()] = False,
    language: Annotated[str, Query()] = "vi",
    certify: Annotated[int | None, Query(description="DocMDP level 1-3: certify")] = None,
    credential_id: Annotated[str | None, Query()] = None,
    purpose: Annotated[str | None, Query(description="public_service: a submission")] = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    idempotency_key: IdempotencyKey = None,
    confirm_countersign: Annotated[
        bool, Query(description="sign even though an earlier signature already fails")
    ] = False,
) -> FileResponse:
    """As ``POST /v1/signatures``: the same use case, checks, transactions, charge and answer.
    Nothing of the database is held while the body streams in."""
    command = SignDocument(
        pin=pin, sad=sad, otp=otp, level=level, reason=reason, location=location, page=page,
        rect=rect, field=field, invisible=invisible, language=language, certify=certify,
        credential_id=credential_id, purpose=purpose, idempotency_key=idempotency_key,
        filename=filename, confirm_countersign=confirm_countersign,
    )  # fmt: skip
    command.options(caller.user)  # refused before the body is read
    with upload_folder(services.runtime.settings.upload_dir) as work:
        received = await _receive_body(request, work / "upload.pdf")
        done = await run_in_threadpool(
            sign_document.sign, services, caller.user, command, received, work / "signed.pdf"
        )
    return delivered(done)
