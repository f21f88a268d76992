"""The verification report as a PDF to file with a case, in Vietnamese or English."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kernel.vietnam import VIETNAM
from signing.fonts import font_family
from signing.verdict_words import CHANGES, say
from signing.verification import TOTAL_FAILED, TOTAL_PASSED, SignatureReport, VerificationReport

__all__ = ["render_report_pdf"]

_COLOURS = {TOTAL_PASSED: "#1e7b34", TOTAL_FAILED: "#b3261e"}
_AMBER = "#a15c00"
_WORDS = {
    "vi": {
        "title": "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ",
        "file": "Tệp",
        "sha256": "SHA-256",
        "checked": "Thời điểm kiểm tra",
        "verdict": "Kết luận chung",
        "signature": "Chữ ký",
        "timestamp": "Dấu thời gian tài liệu",
        "signer": "Người ký",
        "uid": "Mã định danh",
        "org": "Tổ chức",
        "anchor": "Gốc tin cậy",
        "claimed": "Thời gian ký (tự khai)",
        "ts": "Thời gian có dấu thời gian",
        "level": "Mức PAdES",
        "coverage": "Phạm vi",
        "whole": "toàn bộ tài liệu",
        "revision": "phiên bản {r}/{n}",
        "changes": "Thay đổi sau khi ký",
        "revocation": "Tình trạng thu hồi khi ký",
        "warnings": "Lưu ý",
        "reasons": "Lý do",
        "pages": "trang",
        "allowed": "được phép",
        "forbidden": "không được phép",
        TOTAL_PASSED: "HỢP LỆ",
        TOTAL_FAILED: "KHÔNG HỢP LỆ",
        "INDETERMINATE": "CHƯA XÁC ĐỊNH",
        "good": "chưa bị thu hồi",
        "revoked": "đã bị thu hồi",
        "unknown": "không xác định được",
        "source": {
            "document": "dữ liệu trong tài liệu",
            "kyso": "hồ sơ của CA kyso",
            "online": "tra cứu trực tuyến",
            "none": "không có nguồn",
        },
        "footer": "Báo cáo do kyso lập theo ETSI EN 319 102-1; chỉ báo (indication) và chỉ báo "
        "phụ theo tên gọi của tiêu chuẩn.",
    },
    "en": {
        "title": "DIGITAL SIGNATURE VERIFICATION REPORT",
        "file": "File",
        "sha256": "SHA-256",
        "checked": "Checked at",
        "verdict": "Overall verdict",
        "signature": "Signature",
        "timestamp": "Document time-stamp",
        "signer": "Signer",
        "uid": "Identifier",
        "org": "Organisation",
        "anchor": "Trust anchor",
        "claimed": "Signing time (claimed)",
        "ts": "Time-stamped time",
        "level": "PAdES level",
        "coverage": "Coverage",
        "whole": "whole document",
        "revision": "revision {r} of {n}",
        "changes": "Changes after signing",
        "revocation": "Revocation status at signing",
        "warnings": "Warnings",
        "reasons": "Reasons",
        "pages": "pages",
        "allowed": "allowed",
        "forbidden": "not allowed",
        TOTAL_PASSED: "VALID",
        TOTAL_FAILED: "INVALID",
        "INDETERMINATE": "INDETERMINATE",
        "good": "not revoked",
        "revoked": "revoked",
        "unknown": "could not be determined",
        "source": {
            "document": "data in the document",
            "kyso": "kyso CA records",
            "online": "fetched online",
            "none": "no source",
        },
        "footer": "Report made by kyso following ETSI EN 319 102-1; indications and "
        "subindications use the standard's names.",
    },
}


def _esc(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    return f"{datetime.fromisoformat(iso).astimezone(VIETNAM):%d/%m/%Y %H:%M:%S} (GMT+7)"


def _size(size: int, language: str) -> str:
    """A file size as its readers write numbers: 49.776 byte, 49,776 bytes."""
    return f"{size:,}".replace(",", ".") + " byte" if language == "vi" else f"{size:,} bytes"


def _colour(indication: str) -> str:
    return _COLOURS.get(indication, _AMBER)


def render_report_pdf(report: VerificationReport, *, font: Path, language: str = "vi") -> bytes:
    words = _WORDS.get(language, _WORDS["vi"])
    regular, bold = font_family(font)
    text = ParagraphStyle("text", fontName=regular, fontSize=9.5, leading=12.5)
    title = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, spaceAfter=4)
    verdict = ParagraphStyle(
        "verdict",
        fontName=bold,
        fontSize=13,
        leading=17,
        textColor=colors.HexColor(_colour(report.indication)),
    )
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=str(words["title"]),
        author="kyso",
        leftMargin=16 * mm,
        rightMargin=16 * mm,
    )
    sub = f" / {report.subindication}" if report.subindication else ""
    story: list[object] = [
        Paragraph(str(words["title"]), title),
        Paragraph(
            f"{words['file']}: {_esc(report.file.get('name', ''))} "
            f"({_size(report.file.get('size', 0), language)})",
            text,
        ),
        Paragraph(f"{words['sha256']}: {report.file.get('sha256', '')}", text),
        Paragraph(f"{words['checked']}: {_when(report.validated_at)}", text),
        Spacer(1, 4 * mm),
        Paragraph(
            f"{words['verdict']}: {words.get(report.indication, report.indication)} "
            f"({report.indication}{sub})",
            verdict,
        ),
    ]
    for code in report.reason_codes:
        field = f"{code['field']}: " if code.get("field") else ""
        story.append(Paragraph(f"• {_esc(field)}{_esc(say(code['code'], code, language))}", text))
    for code in report.warning_codes:  # about the document itself: active content, XFA
        sentence = say(code["code"], code, language)
        story.append(Paragraph(f"{_esc(words['warnings'])}: {_esc(sentence)}", text))
    for number, signature in enumerate(report.signatures, start=1):
        story += [
            Spacer(1, 5 * mm),
            *_signature_block(signature, number, words, text, regular, bold, language),
        ]
    story += [Spacer(1, 6 * mm), Paragraph(str(words["footer"]), text)]
    document.build(story)
    return out.getvalue()


def _signature_block(
    signature: SignatureReport,
    number: int,
    words: Mapping[str, object],
    text: ParagraphStyle,
    regular: str,
    bold: str,
    language: str,
) -> list[object]:
    kind = words["timestamp"] if signature.kind == "document_timestamp" else words["signature"]
    sub = f" / {signature.subindication}" if signature.subindication else ""
    heading = ParagraphStyle(
        "h",
        parent=text,
        fontName=bold,
        fontSize=11,
        leading=14,
        textColor=colors.HexColor(_colour(signature.indication)),
    )
    signer = signature.signer or {}
    changes = signature.modifications
    level = changes.get("level")
    change_words = "—"
    if level:
        allowed = words["allowed"] if changes.get("allowed") else words["forbidden"]
        pages = changes.get("pages") or []
        named = CHANGES.get(language, CHANGES["en"]).get(level, level)
        if level in ("none", "validation_data"):
            allowed = ""
        change_words = (
            named
            + (f" ({allowed})" if allowed else "")
            + (f", {words['pages']} {', '.join(map(str, pages))}" if pages else "")
        )
    coverage = signature.coverage
    covered = "—"
    if coverage:
        covered = (
            str(words["whole"])
            if coverage.get("whole_document")
            else str(words["revision"]).format(
                r=coverage.get("revision"), n=coverage.get("revisions", "?")
            )
        )
    revocation = signature.revocation
    sources = words["source"]
    assert isinstance(sources, dict)
    revoked_words = "—"
    if revocation:
        revoked_words = (
            f"{words.get(str(revocation.get('status')), revocation.get('status'))} "
            f"({sources.get(revocation.get('source'), '')})"
        )
    rows = [
        [words["signer"], signer.get("name") or "—"],
        [words["uid"], signer.get("uid") or "—"],
        [words["org"], signer.get("organisation") or "—"],
        [words["anchor"], signature.trust_anchor or "—"],
        [words["claimed"], _when(signature.claimed_signing_time)],
        [words["ts"], _when(signature.timestamp_time)],
        [words["level"], signature.level or "—"],
        [words["coverage"], covered],
        [words["changes"], change_words],
        [words["revocation"], revoked_words],
    ]
    table = Table(
        [[Paragraph(_esc(k), text), Paragraph(_esc(v), text)] for k, v in rows],
        colWidths=[52 * mm, 124 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.HexColor("#dddddd")),
            ]
        )
    )
    block: list[object] = [
        Paragraph(
            f"{kind} {number} ({_esc(signature.field)}): "
            f"{words.get(signature.indication, signature.indication)} "
            f"({signature.indication}{sub})",
            heading,
        ),
        table,
    ]
    for label, codes in (
        (words["reasons"], signature.reason_codes),
        (words["warnings"], signature.warning_codes),
    ):
        for code in codes:
            sentence = say(code["code"], code, language)
            block.append(Paragraph(f"{_esc(label)}: {_esc(sentence)}", text))
    return block
