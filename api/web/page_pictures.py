"""Pictures of a draft's pages, drawn by pdfium in a child process of its own.

pdfium is not thread-safe and parses whatever the citizen uploaded: drawing in a separate,
bounded process (memory, time, pixels) means a hostile or merely huge page can cost that
process, never the server. The child writes ``page-N.png`` files and prints, per page, the
box pdfium drew (the crop box) and the page's rotation, which the click placement needs.

Run as ``python -m api.web.page_pictures DOCUMENT FOLDER WIDTH PAGE...``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_PIXELS", "PagePicture", "draw_pages"]

MAX_PIXELS = 4_000_000
"""At most this many pixels a picture; a taller page is drawn smaller."""
_MAX_SIDE = 8192
"""No picture is taller than this many pixels."""
_MEMORY_BYTES = 1024 * 1024 * 1024
_SECONDS = 60


@dataclass(frozen=True)
class PagePicture:
    number: int
    box: tuple[float, float, float, float]
    """The crop box pdfium drew, in PDF points."""
    rotation: int
    """0, 90, 180 or 270 degrees clockwise, as displayed."""
    width: int
    height: int
    """Of the PNG, in pixels."""


def draw_pages(document: Path, folder: Path, pages: list[int], width: int) -> list[PagePicture]:
    """Draw the pages in a child process; the pages it could draw (none when it failed)."""
    command = [sys.executable, "-m", "api.web.page_pictures", str(document), str(folder),
               str(width), *map(str, pages)]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return []
    pictures = []
    for line in done.stdout.splitlines():
        try:
            item = json.loads(line)
            x1, y1, x2, y2 = (float(v) for v in item["box"])
            pictures.append(
                PagePicture(
                    int(item["page"]),
                    (x1, y1, x2, y2),
                    int(item["rotation"]),
                    int(item["width"]),
                    int(item["height"]),
                )
            )
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
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_BYTES, _MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (_SECONDS, _SECONDS))
    import pypdfium2  # after the limits: pdfium's memory counts against them

    document, folder, width = Path(argv[0]), Path(argv[1]), int(argv[2])
    pdf = pypdfium2.PdfDocument(str(document))
    try:
        for number in (int(a) for a in argv[3:]):
            page = pdf[number - 1]
            x1, y1, x2, y2 = page.get_cropbox()
            rotation = page.get_rotation() % 360
            if x2 - x1 <= 0 or y2 - y1 <= 0:
                continue
            image = page.render(scale=_scale(x2 - x1, y2 - y1, rotation, width)).to_pil()
            image.save(folder / f"page-{number}.png", format="PNG", optimize=True)
            drawn = {"page": number, "box": [x1, y1, x2, y2], "rotation": rotation,
                     "width": image.width, "height": image.height}  # fmt: skip
            print(json.dumps(drawn), flush=True)  # noqa: T201 - the parent reads this line
            page.close()
    finally:
        pdf.close()


if __name__ == "__main__":
    _main(sys.argv[1:])
