"""What a reader shows of the signed revision against what it shows of the document now,
page by page, drawn by pdfium in a bounded child process (pdfium is not thread-safe, and the
file is untrusted: a crash costs the child, never the service).

For each page asked about, three pictures at 72 dpi: the signed revision as shown (``S``:
annotations and fields drawn), the document now as shown (``F``), and the signed revision's
page content alone (``B``: no annotations). A pixel that changed (``S`` ≠ ``F``) where the
signed view or the page content under it held something (not the page's background) changes
what was signed: it is *covered*. Changes only on the background (a comment beside the text,
a value written in an empty field) are *additions*. Rectangles in ``ignore`` (signature
widgets) are left out; ``fields`` (widgets filled later) are left out where the page content
under them is background.

Run as ``python -m signing.page_compare`` with a JSON request on standard input.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signing.children import bound_this_process, run_child

__all__ = ["PageView", "compare_pages", "to_pixel"]

_SECONDS = 60
_THRESHOLD = 40
"""Grey levels two pixels must differ by to count as changed (anti-aliasing stays below)."""
_MIN_PIXELS = 6
"""Fewer changed pixels than this on a page is rendering noise."""
_MAX_SIDE = 2400
_FIELD_SHARE = 0.25
"""In a filled field over page content, the share of its changed pixels that must fall on
that content for the change to count as covering it."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PageView:
    page: int
    changed: int
    """Pixels (72 dpi) that differ outside what is ignored."""
    covered: int
    """Of those, pixels where the signed view or its page content held something."""
    region: Box | None
    """Bounding box (PDF points) of the covered pixels, or of the changed ones when none."""


def compare_pages(
    document: Path,
    signed_end: int,
    pages: list[int],
    *,
    ignore: list[tuple[int, Box]],
    fields: list[tuple[int, Box]],
) -> list[PageView] | None:
    """Compare pages (1-based, of the document now); ``None`` when pdfium could not draw
    them (the caller decides what that means)."""
    request = {
        "document": str(document),
        "signed_end": signed_end,
        "pages": pages,
        "ignore": ignore,
        "fields": fields,
    }
    done = run_child("signing.page_compare", seconds=_SECONDS, stdin=json.dumps(request))
    if done is None or done.returncode != 0:
        return None
    try:
        answer = json.loads(done.stdout)
        return [
            PageView(
                int(item["page"]),
                int(item["changed"]),
                int(item["covered"]),
                _box(item["region"]) if item["region"] else None,
            )
            for item in answer
        ]
    except (ValueError, KeyError, TypeError):
        return None


def _box(values: list[float]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def to_pixel(x: float, y: float, box: Box, rotation: int) -> tuple[float, float]:
    """A point in PDF points to pixels at 72 dpi, for a page box shown rotated clockwise."""
    left, bottom, right, top = box
    if rotation == 90:
        return y - bottom, x - left
    if rotation == 180:
        return right - x, y - bottom
    if rotation == 270:
        return top - y, right - x
    return x - left, top - y


def _to_points(px: float, py: float, box: Box, rotation: int) -> tuple[float, float]:
    left, bottom, right, top = box
    if rotation == 90:
        return left + py, bottom + px
    if rotation == 180:
        return right - px, bottom + py
    if rotation == 270:
        return right - py, top - px
    return left + px, top - py


def _pixel_box(rect: Box, box: Box, rotation: int, scale: float) -> tuple[int, int, int, int]:
    (x1, y1), (x2, y2) = (
        to_pixel(rect[0] - 2, rect[1] - 2, box, rotation),
        to_pixel(rect[2] + 2, rect[3] + 2, box, rotation),
    )
    return (
        int(min(x1, x2) * scale),
        int(min(y1, y2) * scale),
        int(max(x1, x2) * scale + 1),
        int(max(y1, y2) * scale + 1),
    )


def _render(pdf: Any, index: int, *, annotations: bool, scale: float) -> Any:
    page = pdf[index]
    try:
        bitmap = page.render(
            scale=scale,
            grayscale=True,
            draw_annots=annotations,
            may_draw_forms=annotations,
        )
        return bitmap.to_pil().convert("L")
    finally:
        page.close()


def _compare(request: dict[str, Any]) -> list[dict[str, Any]]:
    import pypdfium2
    from PIL import ImageChops, ImageDraw

    data = Path(request["document"]).read_bytes()
    now = pypdfium2.PdfDocument(data, password="")
    then = pypdfium2.PdfDocument(data[: int(request["signed_end"])], password="")
    for pdf in (now, then):
        pdf.init_forms()
    results = []
    for number in request["pages"]:
        index = int(number) - 1
        if index >= len(then) or index >= len(now):
            continue
        page = now[index]
        left, bottom, right, top = (float(v) for v in page.get_bbox())
        box = (left, bottom, right, top)
        rotation = page.get_rotation() % 360
        page.close()
        width, height = box[2] - box[0], box[3] - box[1]
        scale = min(1.0, _MAX_SIDE / max(width, height, 1))
        shown_then = _render(then, index, annotations=True, scale=scale)
        shown_now = _render(now, index, annotations=True, scale=scale)
        content_then = _render(then, index, annotations=False, scale=scale)
        if shown_then.size != shown_now.size:
            results.append({"page": number, "changed": -1, "covered": -1, "region": list(box)})
            continue
        changed = ImageChops.difference(shown_then, shown_now).point(
            lambda v: 255 if v > _THRESHOLD else 0
        )
        background = max(range(256), key=content_then.histogram().__getitem__)

        table = [255 if abs(v - background) > _THRESHOLD else 0 for v in range(256)]

        def ink(picture: Any, table: list[int] = table) -> Any:
            return picture.point(table)

        content_ink = ink(content_then)
        eraser = ImageDraw.Draw(changed)
        for where, rect in request["ignore"]:
            if where == number:
                eraser.rectangle(_pixel_box(rect, box, rotation, scale), fill=0)
        lined: list[tuple[int, int, int, int]] = []
        for where, rect in request["fields"]:
            if where != number:
                continue
            area = _pixel_box(rect, box, rotation, scale)
            if content_ink.crop(area).getbbox() is None:  # an empty place filled in
                eraser.rectangle(area, fill=0)
            else:
                lined.append(area)  # the page draws in it (combs, underlines): judged below
        signed_ink = ImageChops.lighter(content_ink, ink(shown_then))
        covered = ImageChops.multiply(changed, signed_ink)
        for area in lined:  # a value written across the page's own lines touches a few of
            # their pixels; one that hides or reveals what lies under it changes mostly those
            inside = covered.crop(area).histogram()[255]
            if inside < _FIELD_SHARE * changed.crop(area).histogram()[255]:
                ImageDraw.Draw(covered).rectangle(area, fill=0)
        count_changed = changed.histogram()[255]
        count_covered = covered.histogram()[255]
        region_box = (covered if count_covered >= _MIN_PIXELS else changed).getbbox()
        region = None
        if region_box is not None and count_changed >= _MIN_PIXELS:
            x1, y1 = _to_points(region_box[0] / scale, region_box[1] / scale, box, rotation)
            x2, y2 = _to_points(region_box[2] / scale, region_box[3] / scale, box, rotation)
            region = [round(min(x1, x2)), round(min(y1, y2)), round(max(x1, x2)),
                      round(max(y1, y2))]  # fmt: skip
        results.append(
            {
                "page": number,
                "changed": count_changed if count_changed >= _MIN_PIXELS else 0,
                "covered": count_covered if count_covered >= _MIN_PIXELS else 0,
                "region": region,
            }
        )
    return results


def _main() -> None:
    bound_this_process(_SECONDS)
    request = json.loads(sys.stdin.read())
    sys.stdout.write(json.dumps(_compare(request)))


if __name__ == "__main__":
    _main()
