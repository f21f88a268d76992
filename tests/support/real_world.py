"""Documents of the kinds real producers make, built by the tests (for the class of file, not
for one file): owner-restricted encryption (Acrobat Sign, PDFsharp…), hybrid cross-reference
files (Word for Microsoft 365, LiveCycle), forms that ask readers to draw their fields
(``/NeedAppearances``), dynamic XFA forms, and form XObjects whose content cannot be decoded."""

from __future__ import annotations

import io
import subprocess
import zlib
from pathlib import Path

from tests.support.pdfs import _minimal_pdf, pdf_stream, simple_pdf
from tests.support.server import require_tool

__all__ = [
    "FIELD_RECT",
    "broken_form_xobject_pdf",
    "dynamic_xfa_pdf",
    "hybrid_reference_pdf",
    "need_appearances_pdf",
    "owner_restricted_pdf",
    "password_pdf",
]

FIELD_RECT = (72, 700, 372, 730)
"""Where the filled field of :func:`need_appearances_pdf` is (PDF points)."""


def _qpdf(directory: Path, *args: str) -> bytes:
    plain, out = directory / "plain.pdf", directory / "out.pdf"
    plain.write_bytes(simple_pdf())
    subprocess.run([require_tool("qpdf"), *args, "--", str(plain), str(out)], check=True)
    return out.read_bytes()


def owner_restricted_pdf(directory: Path, *, signing_allowed: bool) -> bytes:
    """AES-256, no password to open; an owner password guards the permissions: form filling
    (and so signing) allowed, or nothing but printing."""
    permissions = ["--modify=form"] if signing_allowed else ["--modify=none", "--annotate=n",
                                                             "--form=n"]  # fmt: skip
    return _qpdf(directory, "--encrypt", "", "owner-secret", "256", *permissions)


def acrobat9_restricted_pdf(directory: Path) -> bytes:
    """AES-256 revision 5 (Acrobat 9's, later withdrawn), no password to open: readers open
    it; pyHanko cannot read this revision's protection."""
    plain, out = directory / "plain.pdf", directory / "r5.pdf"
    plain.write_bytes(simple_pdf())
    done = subprocess.run([require_tool("qpdf"), "--encrypt", "", "owner-secret", "256",
                           "--force-R5", "--", str(plain), str(out)], capture_output=True)  # fmt: skip
    assert done.returncode in (0, 3), done.stderr  # 3: qpdf's warning that R5 is deprecated
    return out.read_bytes()


def password_pdf(directory: Path) -> bytes:
    """A password is needed to open it."""
    return _qpdf(directory, "--encrypt", "user-secret", "owner-secret", "256")


def need_appearances_pdf() -> bytes:
    """A form whose filled text field has no appearance: it asks readers to draw it."""
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /NeedAppearances true "
            b"/DR << /Font << /Helv 6 0 R >> >> /DA (/Helv 0 Tf 0 g) >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /Helv 6 0 R >> >> /Annots [5 0 R] >>",
            pdf_stream(b"", b"BT /Helv 14 Tf 72 760 Td (Full name:) Tj ET 0 G 72 700 300 30 re S"),
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (full_name) /V (Nguyen Van An) "
            b"/DA (/Helv 14 Tf 0 g) /Rect [%d %d %d %d] /F 4 /P 3 0 R >>" % FIELD_RECT,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
    )


def dynamic_xfa_pdf() -> bytes:
    """A LiveCycle-style dynamic XFA form: the page says 'please wait', the template is
    what XFA readers draw (``dynamicRender`` required, ``NeedsRendering``)."""
    config = (
        b"<config xmlns='http://www.xfa.org/schema/xci/3.0/'><acrobat><acrobat7>"
        b"<dynamicRender>required</dynamicRender></acrobat7></acrobat></config>"
    )
    template = b"<template><subform><field name='amount'><value><text>9,000,000</text></value>"
    template += b"</field></subform></template>"
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /NeedsRendering true /AcroForm << /Fields [] "
            b"/XFA [(config) 6 0 R (template) 7 0 R] >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            pdf_stream(b"", b"BT /F1 14 Tf 72 760 Td (Please wait...) Tj ET"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            pdf_stream(b"", config),
            pdf_stream(b"", template),
        ]
    )


def broken_form_xobject_pdf() -> bytes:
    """The page's own content decodes; the form XObject it draws does not."""
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /XObject << /Fm1 5 0 R >> >> >>",
            pdf_stream(b"", b"q /Fm1 Do Q"),
            pdf_stream(
                b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Filter /FlateDecode",
                b"this is not deflate data at all",
            ),
        ]
    )


def hybrid_reference_pdf() -> bytes:
    """A hybrid-reference file, as Word and LiveCycle write them: a classic cross-reference
    table, and a cross-reference stream (``/XRefStm``) for the objects kept in an object
    stream, which only newer readers see."""
    content = b"BT /F1 18 Tf 72 760 Td (Hybrid reference file) Tj ET"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    head = b"6 0 "
    packed = head + font
    out = io.BytesIO()
    out.write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 6 0 R >> >> >>",
        4: pdf_stream(b"", content),
        5: pdf_stream(b"/Type /ObjStm /N 1 /First %d" % len(head), packed),
    }
    for number, body in bodies.items():
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    # the cross-reference stream: object 6 lives in object stream 5; itself object 7
    rows = b"".join(bytes([2]) + (5).to_bytes(2, "big") + (0).to_bytes(1, "big") for _ in [6])
    rows += bytes([1]) + out.tell().to_bytes(2, "big") + bytes([0])
    xref_stream_at = out.tell()
    data = zlib.compress(rows)
    out.write(
        b"7 0 obj\n<< /Type /XRef /Size 8 /Index [6 2] /W [1 2 1] /Filter /FlateDecode "
        b"/Length %d >>\nstream\n" % len(data) + data + b"\nendstream\nendobj\n"
    )
    offsets[7] = xref_stream_at
    table_at = out.tell()
    out.write(b"xref\n0 6\n0000000000 65535 f \n")
    out.writelines(b"%010d 00000 n \n" % offsets[n] for n in range(1, 6))
    out.write(b"trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\n" % xref_stream_at)
    out.write(b"startxref\n%d\n%%%%EOF\n" % table_at)
    return out.getvalue()
