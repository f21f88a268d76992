"""Verification of signed PDFs for agencies and citizens; trust anchors for administrators."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Header, Query, Response, UploadFile
from pydantic import BaseModel, Field

from api.deps import ReadSessionDep, ServicesDep, require_roles
from api.downloads import attachment
from api.file_digests import upload_folder
from api.usecases import trust, verify
from api.usecases.trust import AddTrustAnchor, RemoveTrustAnchor
from api.usecases.verify import VerifyDocument
from identity.models import Role
from identity.sessions import Principal
from signing.models import TrustAnchor
from signing.trust import list_anchors
from signing.verification_pdf import render_report_pdf

__all__ = ["router"]

router = APIRouter(tags=["verification"])

Verifier = Annotated[
    Principal,
    Depends(require_roles(Role.AGENCY_OFFICER.value, Role.CITIZEN.value, Role.ADMIN.value)),
]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN.value))]


class AnchorIn(BaseModel):
    certificate: str = Field(min_length=1, max_length=64_000, description="PEM")


class AnchorOut(BaseModel):
    sha256: str
    subject: str
    not_after: str
    added_at: str
    added_by: str


def _language(accept_language: str | None) -> str:
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "vi"


@router.post(
    "/v1/verifications",
    response_model=None,
    summary="Verify every signature of a PDF: a report (JSON, or ?format=pdf)",
)
def verify_document(
    caller: Verifier,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="The signed PDF")],
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
    accept_language: Annotated[str | None, Header()] = None,
) -> Response | dict[str, Any]:
    """Agencies rely on this verdict in place of a wet signature: our root and the anchors
    administrators added are trusted, our CA's records answer for our certificates."""
    with upload_folder(services.runtime.settings.upload_dir) as work:
        upload = work / "upload.pdf"  # never a name the client chose
        with upload.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1024 * 1024)
        command = VerifyDocument(user=caller.user, path=upload, filename=file.filename or "")
        report = verify.verify(services, command)
    if format == "pdf":
        language = _language(accept_language)
        font = services.runtime.settings.stamp_font
        pdf = render_report_pdf(report, font=font, language=language)
        name = f"{Path(report.file.get('name', 'document')).stem}-report-{language}.pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": attachment(name), "Content-Language": language},
        )
    return report.as_dict()


def _anchor_out(anchor: TrustAnchor) -> AnchorOut:
    return AnchorOut(
        sha256=anchor.sha256,
        subject=anchor.subject,
        not_after=anchor.not_after.isoformat(),
        added_at=anchor.added_at.isoformat(),
        added_by=anchor.added_by,
    )


@router.get("/v1/admin/trust-anchors", summary="Roots trusted besides our own")
def anchors(admin: Admin, session: ReadSessionDep) -> list[AnchorOut]:
    return [_anchor_out(a) for a in list_anchors(session)]


@router.post("/v1/admin/trust-anchors", status_code=201, summary="Trust another root CA")
def add(body: AnchorIn, admin: Admin, services: ServicesDep) -> AnchorOut:
    command = AddTrustAnchor(certificate=body.certificate.encode(), actor=f"user:{admin.user.id}")
    return _anchor_out(trust.add(services, command))


@router.delete("/v1/admin/trust-anchors/{sha256}", summary="Stop trusting a root CA")
def remove(sha256: str, admin: Admin, services: ServicesDep) -> AnchorOut:
    command = RemoveTrustAnchor(sha256=sha256, actor=f"user:{admin.user.id}")
    return _anchor_out(trust.remove(services, command))
