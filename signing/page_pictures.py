"""Pictures of a draft's pages, drawn by pdfium in a child process of its own.

pdfium is not thread-safe and parses whatever the citizen uploaded: drawing in a separate,
bounded process (memory, time, pixels) means a hostile or merely huge page can cost that
process, never the server. Each page is drawn of its effective box (``signing.page_box``, the
same the click placement and the signing use: pdfium alone would take a page that inherits
its MediaBox for US Letter), and the child prints, per page drawn, the picture's size.

Run as ``python -m signing.page_pictures DOCUMENT FOLDER WIDTH PAGES-JSON``. The child imports
this module, :mod:`signing.page_box` and pdfium, nothing of the web app: it starts in a tenth of
a second (under ``api.web`` it imported the whole app first, about 4 s a draft on a slow day).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from signing.children import bound_this_process, run_child
from signing.page_box import PageBox

__all__ = ["MAX_PIXELS", "PagePicture", "draw_pages"]

MAX_PIXELS = 4_000_000
"""At most this many pixels a picture; a taller page is drawn smaller."""
_MAX_SIDE = 8192
"""No picture is taller than this many pixels."""
_SECONDS = 60


@dataclass(frozen=True)
class PagePicture:
    number: int
    box: tuple[float, float, float, float]
    """The page's effective box (``signing.page_box``), drawn, in user units."""
    rotation: int
    """0, 90, 180 or 270 degrees clockwise, as displayed."""
    width: int
    height: int
    """Of the PNG, in pixels."""
    user_unit: float = 1.0
    """Points per user unit (the stamp's size in points is divided by it)."""


def draw_pages(
    document: Path, folder: Path, boxes: dict[int, PageBox], width: int
) -> list[PagePicture]:
    """Draw the pages (number -> effective box) in a child process; the pages it could draw
    (none when it failed)."""
    pages = {str(n): [*b.box, b.rotation] for n, b in boxes.items()}
    done = run_child("signing.page_pictures", str(document), str(folder), str(width),
                     json.dumps(pages), seconds=_SECONDS)  # fmt: skip
    if done is None:
        return []
    pictures = []
    for line in done.stdout.splitlines():
        try:
            item = json.loads(line)
            shown = boxes[int(item["page"])]
            pictures.append(PagePicture(int(item["page"]), shown.box, shown.rotation,
                                        int(item["width"]), int(item["height"]),
                                        shown.user_unit))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue
    return pictures


def _scale(box_width: float, box_height: float, rotation: int, width: int) -> float:
    across, down = (box_height, box_width) if rotation in (90, 270) else (box_width, box_height)
    scale = min(width / across, 4.0, _MAX_SIDE / down)
    if (across * scale + 1) * (down * scale + 1) > MAX_PIXELS:  # +1: pdfium rounds up
        scale = 0.99 * (MAX_PIXELS / (across * down)) ** 0.5
    return scale


def _main(argv: list[str]) -> None:
    bound_this_process(_SECONDS)
    import pypdfium2  # after the limits: pdfium's memory counts against them

    document, folder, width = Path(argv[0]), Path(argv[1]), int(argv[2])
    pages: dict[str, list[float]] = json.loads(argv[3])
    pdf = pypdfium2.PdfDocument(str(document))
    try:
        for key, (x1, y1, x2, y2, turn) in pages.items():
            number, rotation = int(key), int(turn)
            page = pdf[number - 1]
            page.set_cropbox(x1, y1, x2, y2)  # what signing.page_box found, not pdfium's guess
            page.set_rotation(rotation)
            image = page.render(scale=_scale(x2 - x1, y2 - y1, rotation, width)).to_pil()
            image.save(folder / f"page-{number}.png", format="PNG", optimize=True)
            drawn = {"page": number, "width": image.width, "height": image.height}
            print(json.dumps(drawn), flush=True)  # noqa: T201 - the parent reads this line
            page.close()
    finally:
        pdf.close()


if __name__ == "__main__":
    _main(sys.argv[1:])
