"""A page's effective box: what a reader shows of it, and which way up.

The one answer the preview, the click placement and the signing share (PDF 32000-1, 7.7.3.3
and 14.11.2): the MediaBox and CropBox, each inherited from the page tree when the page does
not set it (fpdf2 sets the size once on the /Pages node); the CropBox clipped to the MediaBox;
/Rotate (inherited, a multiple of 90, clockwise); /UserUnit (points per user-space unit). A page
picture is drawn of ``box`` turned by ``rotation``; a point clicked on it at ``u`` across and
``v`` down (0..1) is ``point(u, v)`` in the page's own coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signing.errors import HostilePdf, UnparsablePdf

__all__ = ["DEFAULT_MEDIA_BOX", "PageBox", "inherited", "page_box"]

Box = tuple[float, float, float, float]

DEFAULT_MEDIA_BOX: Box = (0.0, 0.0, 595.0, 842.0)
"""A page without any MediaBox (the file is broken) is taken as A4, as readers here would."""
_MAX_DEPTH = 64


@dataclass(frozen=True)
class PageBox:
    """What a reader shows of a page."""

    box: Box
    """The visible area (the CropBox within the MediaBox), x1 < x2 and y1 < y2, in user units."""
    rotation: int = 0
    """0, 90, 180 or 270: degrees the page turns clockwise when shown."""
    user_unit: float = 1.0
    """Points (1/72 inch) per user-space unit."""

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def turned(self) -> bool:
        """Shown sideways: the page's x runs down or up the screen."""
        return self.rotation in (90, 270)

    def shown_size(self) -> tuple[float, float]:
        """Across and down, in user units, as the page is shown."""
        return (self.height, self.width) if self.turned else (self.width, self.height)

    def point(self, u: float, v: float) -> tuple[float, float]:
        """The page point shown ``u`` across and ``v`` down the shown page (both 0..1)."""
        x1, y1, x2, y2 = self.box
        w, h = self.width, self.height
        if self.rotation == 90:
            return x1 + v * w, y1 + u * h
        if self.rotation == 180:
            return x2 - u * w, y1 + v * h
        if self.rotation == 270:
            return x2 - v * w, y2 - u * h
        return x1 + u * w, y2 - v * h

    def shown(self, x: float, y: float) -> tuple[float, float]:
        """Where the page point ``(x, y)`` is shown: ``(u, v)``, the inverse of ``point``."""
        x1, y1, x2, y2 = self.box
        w, h = self.width, self.height
        if self.rotation == 90:
            return (y - y1) / h, (x - x1) / w
        if self.rotation == 180:
            return (x2 - x) / w, (y - y1) / h
        if self.rotation == 270:
            return (y2 - y) / h, (x2 - x) / w
        return (x - x1) / w, (y2 - y) / h

    def rect_around(self, u: float, v: float, across: float, down: float, margin: float) -> Box:
        """A rectangle ``across`` by ``down`` (shown size, in points) centred on the shown point
        ``(u, v)``, kept ``margin`` points inside the box: page coordinates, x1 < x2, y1 < y2."""
        unit = self.user_unit
        across, down, margin = across / unit, down / unit, margin / unit
        w, h = (down, across) if self.turned else (across, down)
        w, h = min(w, self.width - 2 * margin), min(h, self.height - 2 * margin)
        x, y = self.point(u, v)
        x1, y1, x2, y2 = self.box
        left = min(max(x - w / 2, x1 + margin), x2 - margin - w)
        bottom = min(max(y - h / 2, y1 + margin), y2 - margin - h)
        return left, bottom, left + w, bottom + h

    def corner_rect(self, across: float, down: float, margin: float) -> Box:
        """The stamp's default place: the bottom right corner as the page is shown."""
        shown_w, shown_h = self.shown_size()
        unit = self.user_unit
        u = 1 - (margin + across / 2) / unit / shown_w
        v = 1 - (margin + down / 2) / unit / shown_h
        return self.rect_around(u, v, across, down, margin)


def inherited(page: Any, key: str, depth: int = 0) -> Any:
    """A page attribute, or the nearest one inherited from its page tree (PDF 7.7.3.4)."""
    if depth > _MAX_DEPTH:
        raise HostilePdf("the page tree is nested too deeply to be read safely")
    if key in page:
        return page[key]
    parent = page.get("/Parent")
    return inherited(parent.get_object(), key, depth + 1) if parent is not None else None


def _rectangle(value: Any) -> Box | None:
    if value is None:
        return None
    try:
        a, b, c, d = (float(v) for v in value.get_object())
    except (TypeError, ValueError, AttributeError):
        raise UnparsablePdf(f"a page box is not four numbers: {value}") from None
    return min(a, c), min(b, d), max(a, c), max(b, d)


def page_box(page: Any) -> PageBox:
    """The effective box of a page dictionary (a pyHanko or pypdf object)."""
    media = _rectangle(inherited(page, "/MediaBox")) or DEFAULT_MEDIA_BOX
    crop = _rectangle(inherited(page, "/CropBox")) or media
    box = (max(media[0], crop[0]), max(media[1], crop[1]),
           min(media[2], crop[2]), min(media[3], crop[3]))  # fmt: skip
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        box = media  # a crop box outside the media box: readers show the media box
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        raise UnparsablePdf(f"the page has an empty page box: {list(media)}")
    try:
        rotation = int(inherited(page, "/Rotate") or 0) % 360
    except (TypeError, ValueError):
        rotation = 0
    try:
        unit = float(page.get("/UserUnit", 1.0))
    except (TypeError, ValueError):
        unit = 1.0
    return PageBox(box, rotation - rotation % 90, unit if 0.01 <= unit <= 1000 else 1.0)
