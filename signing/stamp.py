"""The visible signature stamp, drawn as a small PDF (reportlab, an embedded TrueType font).

pyHanko's own OpenType text stamps spread Vietnamese glyphs apart; a stamp laid out by reportlab
with a font covering Vietnamese (DejaVu Sans by default) renders correctly, and pyHanko places
that page as the signature's appearance.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from kernel.vietnam import VIETNAM
from signing.fonts import font_family

__all__ = ["DEFAULT_FONT", "StampText", "render_stamp_pdf"]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

_LABELS = {
    "vi": {"signed_by": "Ký bởi", "time": "Thời gian", "reason": "Lý do", "location": "Nơi ký"},
    "en": {"signed_by": "Signed by", "time": "Time", "reason": "Reason", "location": "Location"},
}


@dataclass(frozen=True)
class StampText:
    """What the stamp says."""

    signer_name: str
    signed_at: datetime
    """UTC; shown in Asia/Ho_Chi_Minh."""
    reason: str | None = None
    location: str | None = None
    language: str = "vi"
    """``vi`` (default) or ``en``."""

    def lines(self) -> list[tuple[str, str]]:
        labels = _LABELS.get(self.language, _LABELS["vi"])
        local = self.signed_at.astimezone(VIETNAM)
        lines = [
            (labels["signed_by"], self.signer_name),
            (labels["time"], f"{local:%d/%m/%Y %H:%M:%S} (GMT+7)"),
        ]
        if self.reason:
            lines.append((labels["reason"], self.reason))
        if self.location:
            lines.append((labels["location"], self.location))
        return lines


def _fit(text: str, font: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def render_stamp_pdf(
    text: StampText, width: float, height: float, font_path: Path, *, rotation: int = 0
) -> bytes:
    """A one-page PDF of exactly ``width`` by ``height`` points holding the stamp, drawn
    turned back by ``rotation`` (the page's /Rotate) so that it reads upright as shown."""
    font, _ = font_family(font_path)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
    pdf.setTitle("kyso signature stamp")
    if rotation in (90, 270):
        pdf.translate(width if rotation == 90 else 0, 0 if rotation == 90 else height)
        pdf.rotate(rotation)
        width, height = height, width
    elif rotation == 180:
        pdf.translate(width, height)
        pdf.rotate(180)
    pdf.setStrokeColor(Color(0.72, 0.11, 0.11))
    pdf.setFillColor(Color(1, 0.97, 0.95))
    pdf.setLineWidth(1.2)
    pdf.roundRect(1, 1, width - 2, height - 2, 4, stroke=1, fill=1)
    lines = text.lines()
    size = max(5.0, min(10.0, (height - 8) / (len(lines) * 1.3)))
    block = size * 1.3 * len(lines)
    y = (height + block) / 2 - size  # the lines centred vertically
    pdf.setFillColor(Color(0.72, 0.11, 0.11))
    for label, value in lines:
        pdf.setFont(font, size)
        line = _fit(f"{label}: {value}", font, size, width - 10)
        pdf.drawString(5, y, line)
        y -= size * 1.3
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
