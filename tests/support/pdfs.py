"""Test documents, made here: plain, multi-page, with an empty field, and hostile ones."""

from __future__ import annotations

import io
import subprocess
import zlib
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, append_signature_field
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def simple_pdf(pages: int = 1, text: str = "Đơn đề nghị cấp giấy phép") -> bytes:
    if "TestSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestSans", str(FONT)))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842), invariant=1)
    for number in range(1, pages + 1):
        pdf.setFont("TestSans", 14)
        pdf.drawString(72, 770, f"{text} — trang {number}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def with_empty_field(name: str = "ChuKyCongDan") -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(simple_pdf()))
    append_signature_field(
        writer, SigFieldSpec(sig_field_name=name, on_page=0, box=(300, 80, 540, 160))
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(directory: Path) -> bytes:
    plain, locked = directory / "plain.pdf", directory / "locked.pdf"
    plain.write_bytes(simple_pdf())
    subprocess.run(
        ["qpdf", "--encrypt", "user-pw", "owner-pw", "256", "--", str(plain), str(locked)],
        check=True,
    )
    return locked.read_bytes()


def pdf_stream(dictionary: bytes, data: bytes) -> bytes:
    """A stream object's body: its dictionary entries and data (the length added)."""
    return b"<< %s /Length %d >>\nstream\n" % (dictionary, len(data)) + data + b"\nendstream"


def _minimal_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF of the given object bodies, numbered from 1, with one cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, root, xref)
    )
    return out.getvalue()


def compression_bomb() -> bytes:
    """A page whose content stream inflates to 1 GiB of zeros (a 1 MB upload)."""
    bomb = zlib.compress(b"\0" * (1024 * 1024 * 1024), 9)
    return _minimal_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb) + bomb + b"\nendstream",
    ])  # fmt: skip


def deep_object_graph(depth: int = 100_000) -> bytes:
    """A catalog holding arrays nested 100,000 deep."""
    return _minimal_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])  # fmt: skip


def broken_xref() -> bytes:
    """A PDF whose cross-reference table points into nowhere."""
    good = simple_pdf()
    head, _, _ = good.rpartition(b"startxref")
    return head + b"startxref\n999999999\n%%EOF\n"


def many_pages(count: int = 10_000) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842), pageCompression=1, invariant=1)
    for _ in range(count):
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def application_form_pdf() -> bytes:
    """A two-page citizen's application, as a public service portal would receive it, with
    room for the signature at the bottom right of the last page."""
    if "TestSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestSans", str(FONT)))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842), invariant=1)
    pdf.setTitle("Đơn đề nghị cấp giấy phép xây dựng")
    lines = [
        "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "",
        "ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP XÂY DỰNG",
        "Kính gửi: Uỷ ban nhân dân quận Ba Đình",
        "",
        "Họ và tên: Nguyễn Thị Mai",
        "Địa chỉ: số 12 phố Phan Đình Phùng, Ba Đình, Hà Nội",
        "Nội dung đề nghị: cải tạo nhà ở riêng lẻ, 3 tầng.",
    ]
    for number in (1, 2):
        pdf.setFont("TestSans", 12)
        y = 780
        for line in (
            lines if number == 1 else ["Cam kết: tôi xin chịu trách nhiệm về nội dung đơn."]
        ):
            pdf.drawCentredString(297, y, line) if line.isupper() else pdf.drawString(72, y, line)
            y -= 22
        if number == 2:
            pdf.drawString(360, 260, "Người làm đơn")
            pdf.drawString(360, 242, "(ký, ghi rõ họ tên)")
        pdf.drawString(280, 40, f"{number}/2")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def page_geometry_pdf(*, tree: str = "", page: str = "/MediaBox [0 0 595 842]") -> bytes:
    """One page with some text, its geometry set on the page (``page``) or inherited from
    the page tree (``tree``): /MediaBox, /CropBox, /Rotate as given."""
    text = b"BT /F1 28 Tf 72 400 Td (Trang thu nghiem) Tj ET"
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 " + tree.encode() + b" >>",
            b"<< /Type /Page /Parent 2 0 R " + page.encode()
            + b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )  # fmt: skip


def write_large_pdf(path: Path, size: int) -> None:
    """A valid one-page PDF of about ``size`` bytes (an unfiltered image of random pixels),
    written in chunks so that the test never holds it whole."""
    import random

    width = 2048
    height = max(1, size // (width * 3))
    length = width * height * 3
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    rng = random.Random(size)
    offsets: list[int] = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        for body in (
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % len(offsets) + body + b"\nendobj\n")
        offsets.append(out.tell())
        out.write(
            b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d "
            b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>\nstream\n"
            % (width, height, length)
        )
        left = length
        while left:
            chunk = min(left, 4 * 1024 * 1024)
            out.write(rng.randbytes(chunk))
            left -= chunk
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(
            b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(offsets) + 1, xref)
        )
