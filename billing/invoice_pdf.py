"""An invoice as a PDF, in Vietnamese (reportlab, an embedded font covering Vietnamese)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.calendar import local
from billing.invoices import InvoiceView

__all__ = ["PRODUCT_NAMES", "format_vnd", "render_invoice_pdf"]

PRODUCT_NAMES = {
    "signature.B-B": "Chữ ký số PAdES B-B",
    "signature.B-T": "Chữ ký số PAdES B-T (có dấu thời gian)",
    "signature.B-LT": "Chữ ký số PAdES B-LT (kiểm tra dài hạn)",
    "signature.B-LTA": "Chữ ký số PAdES B-LTA (lưu trữ dài hạn)",
    "signature.hash": "Ký giá trị băm (CSC)",
    "timestamp": "Dấu thời gian",
    "certificate.issue": "Cấp chứng thư số",
    "verification": "Kiểm tra chữ ký",
    "subscription.fee": "Phí thuê bao tháng",
}
_TIERS = {
    "allowance": "miễn phí (dịch vụ công)",
    "pack": "trừ vào gói",
    "quota": "trong hạn mức",
    "overage": "vượt hạn mức",
    "flat": "",
    "fee": "",
    "pack-sale": "gói",
}
_lock = threading.Lock()
_fonts: dict[Path, tuple[str, str]] = {}


def format_vnd(amount: int) -> str:
    """1234000 → '1.234.000 ₫' (Vietnamese digit grouping)."""
    return f"{amount:,}".replace(",", ".") + " ₫"


def _product(product: str) -> str:
    if product.startswith("pack."):
        return f"Gói chữ ký {product.removeprefix('pack.')}"
    return PRODUCT_NAMES.get(product, product)


def _tier(tier: str) -> str:
    if tier.startswith("tier:"):
        return f"bậc từ lượt {int(tier[5:].rstrip('+')) + 1:,}".replace(",", ".")
    return _TIERS.get(tier, tier)


def _register(font: Path) -> tuple[str, str]:
    with _lock:
        if font not in _fonts:
            regular = f"kyso-invoice-{len(_fonts)}"
            pdfmetrics.registerFont(TTFont(regular, str(font)))
            bold_path = font.with_name(font.stem + "-Bold" + font.suffix)
            bold = regular
            if bold_path.exists():
                bold = regular + "-bold"
                pdfmetrics.registerFont(TTFont(bold, str(bold_path)))
            registerFontFamily(regular, normal=regular, bold=bold, italic=regular, boldItalic=bold)
            _fonts[font] = (regular, bold)
        return _fonts[font]


def render_invoice_pdf(view: InvoiceView, *, font: Path, seller: str) -> bytes:
    """The invoice with its lines, VAT and credit notes, times in Vietnam."""
    regular, bold = _register(font)
    text = ParagraphStyle("text", fontName=regular, fontSize=10, leading=13)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=6)
    invoice = view.invoice
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Hóa đơn {invoice.number}",
        author=seller,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    issued = local(invoice.issued_at)
    story: list[object] = [
        Paragraph("HÓA ĐƠN DỊCH VỤ CHỮ KÝ SỐ", title),
        Paragraph(
            f"Số: <b>{invoice.number}</b> &nbsp; Kỳ: {invoice.period[5:]}/{invoice.period[:4]}"
            f" &nbsp; Ngày lập: {issued:%d/%m/%Y %H:%M} (GMT+7)",
            text,
        ),
        Paragraph(f"Đơn vị bán: {_escape(seller)}", text),
        Paragraph(f"Khách hàng: {_escape(invoice.account_label or invoice.account_id)}", text),
        Paragraph(f"Mã tài khoản: {invoice.account_id}", text),
        Spacer(1, 6 * mm),
    ]
    rows: list[list[object]] = [["Dịch vụ", "Bậc giá", "Số lượng", "Đơn giá", "Thành tiền"]]
    for line in view.lines:
        rows.append(
            [
                Paragraph(_escape(_product(line.product)), text),
                _tier(line.tier),
                f"{line.quantity:,}".replace(",", "."),
                format_vnd(line.unit_price),
                format_vnd(line.amount),
            ]
        )
    rows += [
        ["", "", "", "Cộng tiền hàng", format_vnd(invoice.net)],
        ["", "", "", f"Thuế GTGT {invoice.vat_percent}%", format_vnd(invoice.vat)],
        ["", "", "", "Tổng cộng", format_vnd(invoice.total)],
    ]
    table = Table(rows, colWidths=[62 * mm, 34 * mm, 20 * mm, 28 * mm, 30 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 9),
                ("FONT", (0, 0), (-1, 0), bold, 9),
                ("FONT", (3, -1), (-1, -1), bold, 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f3b63")),
                ("LINEABOVE", (3, -3), (-1, -3), 0.4, colors.grey),
            ]
        )
    )
    story.append(table)
    if view.credit_notes:
        story += [Spacer(1, 6 * mm), Paragraph("<b>Hóa đơn điều chỉnh giảm</b>", text)]
        for note in view.credit_notes:
            story.append(
                Paragraph(
                    f"{note.number} ngày {local(note.issued_at):%d/%m/%Y}: "
                    f"-{format_vnd(note.amount)}"
                    f" (trong đó thuế GTGT {format_vnd(note.vat)}). Lý do: {_escape(note.reason)}",
                    text,
                )
            )
    story += [
        Spacer(1, 8 * mm),
        Paragraph(
            "Giá đã bao gồm thuế GTGT. Số tiền là số đã trừ vào ví hoặc sẽ thanh toán"
            " theo hợp đồng.",
            text,
        ),
    ]
    document.build(story)
    return out.getvalue()


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
