"""Form fields drawn before signing, for documents that ask readers to draw them
(``/NeedAppearances true``).

A signature's revision must clear that flag (a reader redrawing fields would change what was
signed), so the values have to be drawn into appearance streams first, or they vanish. pdfium
draws them as it shows the pages and writes them as an incremental update of the upload, in a
bounded child process (the file is untrusted; pdfium is not thread-safe).

Run as ``python -m signing.appearances SOURCE DESTINATION``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from signing.children import bound_this_process, run_child

__all__ = ["draw_field_appearances"]

_SECONDS = 120


def draw_field_appearances(source: Path, destination: Path) -> bool:
    """Write ``source`` plus a revision with every field's appearance drawn to
    ``destination``; ``False`` (and nothing written) when pdfium could not."""
    done = run_child("signing.appearances", str(source), str(destination), seconds=_SECONDS)
    if done is None or done.returncode != 0 or not destination.is_file():
        destination.unlink(missing_ok=True)
        return False
    with source.open("rb") as old, destination.open("rb") as new:
        head = old.read(1024 * 1024)
        if new.read(len(head)) != head:  # not an incremental update of the upload
            destination.unlink(missing_ok=True)
            return False
    return True


def _main(argv: list[str]) -> None:
    bound_this_process(_SECONDS)
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    pdf = pypdfium2.PdfDocument(argv[0])
    try:
        pdf.init_forms()
        for index in range(len(pdf)):  # showing a page draws its fields' appearances
            page = pdf[index]
            page.render(scale=0.05, may_draw_forms=True).close()
            page.close()
        with open(argv[1], "wb") as out:
            pdf.save(out, flags=pdfium_c.FPDF_INCREMENTAL)
    finally:
        pdf.close()


if __name__ == "__main__":
    _main(sys.argv[1:])
