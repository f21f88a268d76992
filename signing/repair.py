"""A damaged PDF that readers still open, written again cleanly so that it can be signed.

Mainstream readers repair what they read: broken cross-reference tables, objects at the
wrong offsets, wrong stream lengths. When pyHanko cannot read an upload that has no
signature yet, qpdf (through pikepdf, in a bounded child process: the bytes are untrusted)
reads it as readers do and writes the same pages again with a clean structure; that copy is
signed, provided pdfium draws its first pages as it draws the upload's. A document already
signed is never rewritten (its signatures would break).

Run as ``python -m signing.repair SOURCE DESTINATION``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from signing.children import bound_this_process, run_child

__all__ = ["repaired_copy"]

_SECONDS = 60
_PAGES_COMPARED = 5
_NOISE = 4
"""Pixels (at 36 dpi) two drawings of one page may differ by."""


def repaired_copy(source: Path, destination: Path) -> bool:
    """Write a cleanly structured copy of ``source`` to ``destination``; ``False`` (and
    nothing written) when qpdf cannot read it either, or it is encrypted or signed."""
    done = run_child("signing.repair", str(source), str(destination), seconds=_SECONDS)
    if done is None or done.returncode != 0 or not destination.is_file():
        destination.unlink(missing_ok=True)
        return False
    return True


def _main(argv: list[str]) -> int:
    bound_this_process(_SECONDS)
    import pikepdf

    with pikepdf.open(argv[0]) as pdf:
        if pdf.is_encrypted:
            return 2  # rewriting would drop or change the owner's protection
        form = pdf.Root.get("/AcroForm")
        fields = form.get("/Fields") if form is not None else None
        for field in fields or ():
            if field.get("/FT") == "/Sig" and "/V" in field:
                return 3  # signed already: a rewrite would break the signature
        if len(pdf.pages) == 0:
            return 4
        pdf.save(argv[1], object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    return 0 if _shows_the_same(Path(argv[0]), Path(argv[1])) else 5


def _shows_the_same(original: Path, repaired: Path) -> bool:
    """Whether pdfium draws the first pages of both alike: a repair that loses what a
    reader showed (a stream cut short) is no copy of the document."""
    import pypdfium2
    from PIL import ImageChops

    try:
        before, after = pypdfium2.PdfDocument(str(original)), pypdfium2.PdfDocument(str(repaired))
    except pypdfium2.PdfiumError:
        return False  # unprovable: the original cannot be drawn
    try:
        if len(before) != len(after):
            return False
        for index in range(min(len(before), _PAGES_COMPARED)):
            old = before[index].render(scale=0.5, grayscale=True).to_pil().convert("L")
            new = after[index].render(scale=0.5, grayscale=True).to_pil().convert("L")
            if old.size != new.size:
                return False
            changed = ImageChops.difference(old, new).point(lambda v: 255 if v > 40 else 0)
            if changed.histogram()[255] > _NOISE:
                return False
        return True
    finally:
        before.close()
        after.close()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
