"""Verification of signed PDFs for agencies and citizens; trust anchors for administrators."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from api.database import unit_of_work
from api.deps import ReadSessionDep, SessionDep, require_roles, require_roles_reading, utc_now
from api.downloads import attachment
from api.payers import payer_for
from api.verification_services import VerificationServices
from billing.charges import charge
from identity.audit import record_audit
from identity.models import Role
from identity.sessions import Principal
from signing.errors import NotAPdf
from signing.trust import add_anchor, list_anchors, remove_anchor
from signing.verification import verify_pdf
from signing.verification_pdf import render_report_pdf

__all__ = ["router"]

router = APIRouter(tags=["verification"])

Verifier = Annotated[
    Principal,
    Depends(require_roles_reading(Role.AGENCY_OFFICER.value, Role.CITIZEN.value, Role.ADMIN.value)),
]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN.value))]
ReadingAdmin = Annotated[Principal, Depends(require_roles_reading(Role.ADMIN.value))]


async def get_verification(request: Request) -> VerificationServices:
    services: VerificationServices = request.app.state.verification
    return services


VerificationDep = Annotated[VerificationServices, Depends(get_verification)]


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
def verify(
    caller: Verifier,
    session: ReadSessionDep,
    verification: VerificationDep,
    file: Annotated[UploadFile, File(description="The signed PDF")],
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
    accept_language: Annotated[str | None, Header()] = None,
) -> Response | dict[str, Any]:
    """Agencies rely on this verdict in place of a wet signature: our root and the anchors
    administrators added are trusted, our CA's records answer for our certificates."""
    runtime = verification.runtime
    settings = verification.settings(session)
    payer = payer_for(session, caller.user)
    session.close()
    work = runtime.settings.upload_dir / uuid.uuid4().hex
    work.mkdir(mode=0o700)
    try:
        upload = work / "upload.pdf"  # never a name the client chose
        with upload.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1024 * 1024)
        with upload.open("rb") as head:
            if b"%PDF-" not in head.read(1024):
                raise NotAPdf("this is not a PDF file (it does not start with %PDF-)")
        report = verify_pdf(upload, settings)
        report.file["name"] = Path(file.filename or "document.pdf").name[:255] or "document.pdf"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with unit_of_work(runtime.engine) as writing:  # metered (free under the default plans)
        charge(writing, payer, "verification", now=utc_now(), reference=report.file["sha256"][:80])
    if format == "pdf":
        language = _language(accept_language)
        pdf = render_report_pdf(report, font=runtime.settings.stamp_font, language=language)
        name = f"{Path(report.file.get('name', 'document')).stem}-report-{language}.pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": attachment(name), "Content-Language": language},
        )
    return report.as_dict()


def _anchor_out(anchor: Any) -> AnchorOut:
    return AnchorOut(
        sha256=anchor.sha256,
        subject=anchor.subject,
        not_after=anchor.not_after.isoformat(),
        added_at=anchor.added_at.isoformat(),
        added_by=anchor.added_by,
    )


@router.get("/v1/admin/trust-anchors", summary="Roots trusted besides our own")
def anchors(admin: ReadingAdmin, session: ReadSessionDep) -> list[AnchorOut]:
    return [_anchor_out(a) for a in list_anchors(session)]


@router.post("/v1/admin/trust-anchors", status_code=201, summary="Trust another root CA")
def add(body: AnchorIn, admin: Admin, session: SessionDep) -> AnchorOut:
    now = utc_now()
    anchor = add_anchor(session, body.certificate.encode(), actor=f"user:{admin.user.id}", now=now)
    record_audit(
        session,
        at=now,
        actor=f"user:{admin.user.id}",
        action="trust_anchor.add",
        target=anchor.sha256,
        subject=anchor.subject,
    )
    return _anchor_out(anchor)


@router.delete("/v1/admin/trust-anchors/{sha256}", summary="Stop trusting a root CA")
def remove(sha256: str, admin: Admin, session: SessionDep) -> AnchorOut:
    now = utc_now()
    anchor = remove_anchor(session, sha256)
    record_audit(
        session,
        at=now,
        actor=f"user:{admin.user.id}",
        action="trust_anchor.remove",
        target=anchor.sha256,
        subject=anchor.subject,
    )
    return _anchor_out(anchor)
