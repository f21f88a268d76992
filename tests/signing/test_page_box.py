"""A page's effective box: inherited from the page tree, cropped, turned, in user units."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.errors import UnparsablePdf
from signing.page_box import PageBox, page_box
from tests.support.pdfs import page_geometry_pdf


def _box(**geometry: str) -> PageBox:
    reader = PdfFileReader(io.BytesIO(page_geometry_pdf(**geometry)))
    page, _ = reader.find_page_for_modification(0)
    return page_box(page.get_object())


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        ({"page": "/MediaBox [0 0 595 842]"}, PageBox((0, 0, 595, 842))),
        ({"tree": "/MediaBox [0 0 595 842]", "page": ""}, PageBox((0, 0, 595, 842))),
        ({"tree": "/MediaBox [0 0 595 842] /Rotate -90", "page": ""},
         PageBox((0, 0, 595, 842), 270)),
        ({"tree": "/MediaBox [0 0 595 842] /CropBox [-10 100 545 900]", "page": "/Rotate 180"},
         PageBox((0, 100, 545, 842), 180)),
        ({"page": "/MediaBox [595 842 0 0] /UserUnit 2"}, PageBox((0, 0, 595, 842), 0, 2.0)),
        ({"page": "/MediaBox [0 0 595 842] /CropBox [700 900 800 1000]"},
         PageBox((0, 0, 595, 842))),
    ],
)  # fmt: skip
def test_the_box_readers_show(geometry: dict[str, str], expected: PageBox) -> None:
    assert _box(**geometry) == expected


def test_an_empty_page_is_refused() -> None:
    with pytest.raises(UnparsablePdf):
        _box(page="/MediaBox [0 0 0 842]")


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_shown_point_and_its_page_point_agree(rotation: int) -> None:
    box = PageBox((50, 100, 545, 742), rotation)
    x, y = box.point(0.25, 0.8)
    assert box.shown(x, y) == pytest.approx((0.25, 0.8))


def test_the_corner_stamp_is_at_the_shown_bottom_right() -> None:
    assert PageBox((0, 0, 595, 842)).corner_rect(220, 70, 36) == (339, 36, 559, 106)
    # turned a quarter clockwise: the shown bottom right is the page's top right
    assert PageBox((0, 0, 595, 842), 90).corner_rect(220, 70, 36) == (489, 586, 559, 806)
    # two points per unit: half as many units
    assert PageBox((0, 0, 595, 842), 0, 2.0).corner_rect(220, 70, 36) == (467, 18, 577, 53)
