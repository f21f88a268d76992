"""An invoice as a PDF, in Vietnamese (reportlab, an embedded font covering Vietnamese), with
what a VAT invoice carries (Decree 123/2020/ND-CP art. 10, Circular 78/2021/TT-BTC art. 4):
the template symbol and series, number and date, the seller's and buyer's names, tax codes and
addresses, the lines, the VAT rate and amounts, the total in figures and in words."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
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
from kernel.vietnamese_words import dong_in_words

__all__ = ["PRODUCT_NAMES", "TEMPLATE_SYMBOL", "Buyer", "Seller", "format_vnd",
           "invoice_series", "render_invoice_pdf"]  # fmt: skip

TEMPLATE_SYMBOL = "1"
"""Ký hiệu mẫu số: 1 is a VAT invoice (hóa đơn giá trị gia tăng)."""


@dataclass(frozen=True)
class Seller:
    name: str
    tax_code: str
    address: str
    series_letters: str
    """The two letters ending the series, chosen by the seller."""


@dataclass(frozen=True)
class Buyer:
    name: str
    tax_code: str | None = None
    address: str | None = None


def invoice_series(letters: str, year: int) -> str:
    """``C`` (a code from the tax authority), the year's two digits, ``T`` (an e-invoice
    registered with it) and the seller's two letters: ``C26TKS``. The year is that of the
    number series the invoice's number was taken from (``HD2026-…``), so that symbol and
    number name one gapless series."""
    return f"C{year % 100:02d}T{letters}"


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


def render_invoice_pdf(view: InvoiceView, *, font: Path, seller: Seller, buyer: Buyer) -> bytes:
    """The invoice with its lines, VAT and credit notes, times in Vietnam."""
    regular, bold = _register(font)
    text = ParagraphStyle("text", fontName=regular, fontSize=10, leading=13)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=2,
                           alignment=1)  # fmt: skip
    centred = ParagraphStyle("centred", parent=text, alignment=1)
    invoice = view.invoice
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Hóa đơn {invoice.number}",
        author=seller.name,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    issued = local(invoice.issued_at)
    number = invoice.number.rsplit("-", 1)[-1].rjust(8, "0")
    story: list[object] = [
        Paragraph("HÓA ĐƠN GIÁ TRỊ GIA TĂNG", title),
        Paragraph(f"Ngày {issued:%d} tháng {issued:%m} năm {issued:%Y}", centred),
        Paragraph(
            f"Mẫu số: {TEMPLATE_SYMBOL} &nbsp; Ký hiệu: <b>"
            f"{invoice_series(seller.series_letters, int(invoice.period[:4]))}</b> &nbsp; Số: "
            f"<b>{number}</b>"
            f" &nbsp; (mã {invoice.number})",
            centred,
        ),
        Paragraph(
            f"Dịch vụ kỳ {invoice.period[5:]}/{invoice.period[:4]}; lập lúc {issued:%H:%M} (GMT+7)",
            centred,
        ),
        Spacer(1, 4 * mm),
        Paragraph(f"Đơn vị bán hàng: <b>{_escape(seller.name)}</b>", text),
        Paragraph(f"Mã số thuế: {_escape(seller.tax_code)}", text),
        Paragraph(f"Địa chỉ: {_escape(seller.address)}", text),
        Spacer(1, 3 * mm),
        Paragraph(f"Người mua hàng: <b>{_escape(buyer.name)}</b>", text),
    ]
    if buyer.tax_code:
        story.append(Paragraph(f"Mã số thuế người mua: {_escape(buyer.tax_code)}", text))
    if buyer.address:
        story.append(Paragraph(f"Địa chỉ người mua: {_escape(buyer.address)}", text))
    story += [
        Paragraph(f"Mã tài khoản: {invoice.account_id}", text),
        Paragraph("Hình thức thanh toán: trừ vào ví trả trước / chuyển khoản", text),
        Spacer(1, 5 * mm),
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
        ["", "", "", f"Thuế suất GTGT: {invoice.vat_percent}%", ""],
        ["", "", "", "Tiền thuế GTGT", format_vnd(invoice.vat)],
        ["", "", "", "Tổng cộng tiền thanh toán", format_vnd(invoice.total)],
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
                ("LINEABOVE", (3, -4), (-1, -4), 0.4, colors.grey),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 3 * mm),
        Paragraph(f"Số tiền viết bằng chữ: <b>{dong_in_words(invoice.total)}</b>", text),
    ]
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
            "Đơn giá và thành tiền từng dòng đã gồm thuế GTGT; tiền hàng và tiền thuế được"
            " tách ở cuối bảng. Số tiền là số đã trừ vào ví hoặc sẽ thanh toán theo hợp đồng.",
            text,
        ),
    ]
    document.build(story)
    return out.getvalue()


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
