"""Verifying signed PDFs in the browser: upload one or many, a report page per document
(green, amber or red per signature, with the reasons in words), the report as PDF."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from sqlmodel import col, select

from api.downloads import attachment
from api.file_digests import upload_folder
from api.usecases import verify
from api.usecases.services import utc_now
from api.usecases.verify import KEEP_REPORTS, KeepReports, VerifyDocument
from api.web.context import WebRoute
from api.web.public import WebDep
from billing.errors import BillingError
from identity.models import Role
from signing.errors import SigningError
from signing.models import KeptReport
from signing.verdict_words import say
from signing.verification import VerificationReport
from signing.verification_pdf import render_report_pdf

__all__ = ["KEEP_REPORTS", "router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
VERIFIERS = (Role.AGENCY_OFFICER.value, Role.ADMIN.value, Role.CITIZEN.value)
MAX_FILES = 20

COLOURS = {"TOTAL_PASSED": "green", "INDETERMINATE": "amber", "TOTAL_FAILED": "red"}
VERDICTS = {
    "TOTAL_PASSED": "Hợp lệ",
    "INDETERMINATE": "Chưa thể kết luận",
    "TOTAL_FAILED": "Không hợp lệ",
}


@router.get("/verify")
def upload_form(web: WebDep) -> Response:
    web.require(*VERIFIERS)
    return web.page("agency/upload.html", title=web.t("Xác minh tài liệu"), max_files=MAX_FILES)


@router.post("/verify")
def upload(
    web: WebDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    caller = web.require(*VERIFIERS)
    web.check_form(csrf)
    chosen = [f for f in files or [] if f.filename]
    if not chosen or len(chosen) > MAX_FILES:
        return web.page(
            "agency/upload.html",
            title=web.t("Xác minh tài liệu"),
            status=422,
            max_files=MAX_FILES,
            error=web.t("Hãy chọn từ 1 đến {n} tệp PDF.", n=MAX_FILES),
        )
    reports: list[tuple[str, dict[str, Any]]] = []
    for upload_file in chosen:
        name = Path(upload_file.filename or "document.pdf").name[:255]
        try:
            with upload_folder(web.runtime.settings.upload_dir) as work:
                upload = work / "upload.pdf"
                with upload.open("wb") as out:
                    shutil.copyfileobj(upload_file.file, out, 1024 * 1024)
                command = VerifyDocument(user=caller.user, path=upload, filename=name)
                report = verify.verify(web.services, command).as_dict()
        except SigningError as exc:  # not a PDF at all: a report that says so
            _status, words = web.explain(exc)
            report = _refused(name, words)
        except BillingError as exc:  # bookkeeping, never a verdict about the document
            status, words = web.explain(exc)
            return web.page("agency/upload.html", title=web.t("Xác minh tài liệu"),
                            status=status, max_files=MAX_FILES, error=words)  # fmt: skip
        reports.append((name, report))
    batch = str(uuid.uuid4())
    keeping = KeepReports(user=caller.user, batch=batch, reports=reports)
    kept = verify.keep_reports(web.services, keeping)
    if len(kept) == 1:
        return web.redirect(f"/verify/{kept[0].id}")
    return web.redirect(f"/verify/batch/{batch}")


def _refused(name: str, words: str) -> dict[str, object]:
    return {
        "indication": "TOTAL_FAILED",
        "subindication": "FORMAT_FAILURE",
        "file": {"name": name, "size": 0, "sha256": ""},
        "signatures": [],
        "validated_at": utc_now().isoformat(),
        "reasons": [words],
        "reason_codes": [],
    }


def _own(web: WebDep, report_id: str) -> KeptReport | None:
    caller = web.require(*VERIFIERS)
    with web.services.reading() as reading:
        record = reading.get(KeptReport, report_id)
    if record is None or record.user_id != caller.user.id or record.expires_at <= utc_now():
        return None
    return record


def _gone(web: WebDep) -> Response:
    return web.page(
        "message.html",
        status=404,
        title=web.t("Không tìm thấy"),
        heading=web.t("Không tìm thấy báo cáo này"),
        body=web.t("Báo cáo chỉ được giữ 7 ngày. Hãy xác minh lại tài liệu."),
        link=("/verify", web.t("Xác minh tài liệu")),
    )


@router.get("/verify/batch/{batch}")
def batch_page(web: WebDep, batch: str) -> Response:
    caller = web.require(*VERIFIERS)
    with web.services.reading() as reading:
        records = list(
            reading.exec(
                select(KeptReport)
                .where(KeptReport.batch == batch, KeptReport.user_id == caller.user.id)
                .order_by(col(KeptReport.filename))
            )
        )
    if not records:
        return _gone(web)
    return web.page(
        "agency/batch.html",
        title=web.t("Kết quả xác minh"),
        records=records,
        colours=COLOURS,
        verdicts=VERDICTS,
    )


@router.get("/verify/{report_id}")
def report_page(web: WebDep, report_id: str) -> Response:
    record = _own(web, report_id)
    if record is None:
        return _gone(web)
    report = json.loads(record.report)

    def words(codes: list[dict[str, object]], fallback: list[str]) -> list[str]:
        if not codes:
            return fallback
        return [say(str(c["code"]), c, web.lang) for c in codes]

    return web.page(
        "agency/report.html",
        title=record.filename,
        record=record,
        report=report,
        colours=COLOURS,
        verdicts=VERDICTS,
        words=words,
    )


@router.get("/verify/{report_id}/report.pdf")
def report_pdf(web: WebDep, report_id: str) -> Response:
    record = _own(web, report_id)
    if record is None:
        return _gone(web)
    report = VerificationReport.from_dict(json.loads(record.report))
    pdf = render_report_pdf(report, font=web.runtime.settings.stamp_font, language=web.lang)
    name = f"{Path(record.filename).stem}-report-{web.lang}.pdf"
    return web.finish(
        Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": attachment(name)}
        )
    )
