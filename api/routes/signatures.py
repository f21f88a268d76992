"""Signing PDFs over the API: the multipart form (the sign-and-charge use case's HTTP
adapter), history and re-download."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from api.deps import ReadSessionDep, ServicesDep, require_roles
from api.downloads import LargeFileResponse, attachment
from api.file_digests import receive, upload_folder
from api.usecases import sign_document
from api.usecases.sign_document import SignDocument, SignedDocument
from identity.models import Role
from identity.sessions import Principal
from signing.models import SignatureRecord
from signing.records import history, owned_document

__all__ = ["Citizen", "delivered", "router"]

router = APIRouter(tags=["signatures"])

Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN.value))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


class SignatureOut(BaseModel):
    id: str
    level: str
    filename: str
    visible: bool
    certified: int | None
    reason: str | None
    location: str | None
    created_at: str
    retain_until: str
    document_available: bool
    signed_sha256: str


def _out(record: SignatureRecord) -> SignatureOut:
    return SignatureOut(
        id=record.id, level=record.level, filename=record.filename, visible=record.visible,
        certified=record.certified, reason=record.reason, location=record.location,
        created_at=record.created_at.isoformat(), retain_until=record.retain_until.isoformat(),
        document_available=record.purged_at is None, signed_sha256=record.signed_sha256,
    )  # fmt: skip


def _download(path: str, record: SignatureRecord, *, replayed: bool) -> FileResponse:
    name = Path(record.filename).stem + "-signed.pdf"
    return LargeFileResponse(
        path,
        media_type="application/pdf",
        headers={
            "X-Signature-Id": record.id,
            "Content-Disposition": attachment(name),
            **({"Idempotent-Replayed": "true"} if replayed else {}),
        },
    )


def delivered(done: SignedDocument) -> FileResponse:
    """The signed PDF, with its signature's id (and whether it is an earlier request's)."""
    return _download(done.path, done.record, replayed=done.replayed)


@router.post("/v1/signatures", response_class=FileResponse, status_code=200,
             summary="Sign a PDF (PAdES) and charge it, in one transaction")  # fmt: skip
def create_signature(
    caller: Citizen,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="The PDF to sign")],
    pin: Annotated[str | None, Form(description="the signing PIN (or give sad)")] = None,
    level: Annotated[str, Form()] = "B-LT",
    otp: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=200)] = None,
    location: Annotated[str | None, Form(max_length=200)] = None,
    page: Annotated[int | None, Form(description="1-based page for the stamp")] = None,
    rect: Annotated[str | None, Form(description="x1,y1,x2,y2 in PDF points")] = None,
    field: Annotated[str | None, Form(description="an existing empty signature field")] = None,
    invisible: Annotated[bool, Form()] = False,
    language: Annotated[str, Form()] = "vi",
    certify: Annotated[int | None, Form(description="DocMDP level 1-3: certify")] = None,
    credential_id: Annotated[str | None, Form()] = None,
    purpose: Annotated[
        str | None,
        Form(
            description="public_service: a submission to a public "
            "service (a monthly free allowance applies)"
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
    confirm_countersign: Annotated[
        bool,
        Form(
            description="sign even though an earlier signature in the document already fails "
            "(without it, such a document is refused before anything is charged)"
        ),
    ] = False,
    sad: Annotated[
        str | None,
        Form(
            max_length=200,
            description="instead of the PIN: a signature authorisation from POST "
            "/v1/me/authorisations with a count (one batch, one PIN); each document spends one",
        ),
    ] = None,
) -> FileResponse:
    """A signing attempt is claimed by this Idempotency-Key before the PIN is tried; a
    repeat gets the same bytes (``Idempotent-Replayed: true``), or 409 with ``Retry-After``
    while the first is still being signed. Nothing signed is delivered uncharged."""
    command = SignDocument(
        pin=pin, sad=sad, otp=otp, level=level, reason=reason, location=location, page=page,
        rect=rect, field=field, invisible=invisible, language=language, certify=certify,
        credential_id=credential_id, purpose=purpose, idempotency_key=idempotency_key,
        filename=file.filename, confirm_countersign=confirm_countersign,
    )  # fmt: skip
    command.options(caller.user)  # refused before the upload is read
    with upload_folder(services.runtime.settings.upload_dir) as work:
        received = receive(file.file, work / "upload.pdf")
        done = sign_document.sign(services, caller.user, command, received, work / "signed.pdf")
    return delivered(done)


@router.get("/v1/signatures", summary="Your signatures, newest first")
def list_signatures(caller: Citizen, session: ReadSessionDep) -> list[SignatureOut]:
    return [_out(r) for r in history(session, caller.user.id)]


@router.get("/v1/signatures/{signature_id}/document", response_class=FileResponse,
            summary="Download a signed document again (during its retention period)")  # fmt: skip
def download_signature(
    signature_id: str, caller: Citizen, session: ReadSessionDep, services: ServicesDep
) -> FileResponse:
    record, path = owned_document(session, services.signing.store, user_id=caller.user.id,
                                  signature_id=signature_id)  # fmt: skip
    return _download(path, record, replayed=False)
