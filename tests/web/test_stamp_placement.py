"""The stamp lands where the preview shows it, in Chromium at 1280 and 390 pixels wide: a page
whose A4 size is set once on the page tree (as fpdf2 writes it), a page turned by /Rotate and a
cropped page. The signed widget's /Rect is compared with the click (worked out here by hand,
not by kyso's code), and the stamp poppler draws with the red box the preview showed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.browser import SCREENSHOTS, screenshot
from tests.support.pdfs import page_geometry_pdf
from tests.support.server import KysoServer, require_tool

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

# name, the PDF's page geometry, where it is clicked (u across, v down the picture), the page
# point that is (by hand), and the stamp's size in page units
CASES = [
    ("a4-on-page-tree", {"tree": "/MediaBox [0 0 595 842]", "page": ""},
     (0.5, 0.5), (297.5, 421.0), (220, 70)),
    ("rotated-90", {"tree": "/MediaBox [0 0 595 842] /Rotate 90", "page": ""},
     (0.3, 0.6), (0.6 * 595, 0.3 * 842), (70, 220)),
    ("cropped", {"page": "/MediaBox [0 0 595 842] /CropBox [50 100 545 742]"},
     (0.5, 0.25), (50 + 0.5 * 495, 742 - 0.25 * 642), (220, 70)),
]  # fmt: skip


@pytest.fixture(scope="module")
def signer(server: KysoServer) -> Signer:
    (made,) = make_signers(server, 1)
    return made


def _signed_in(browser: Browser, server: KysoServer, signer: Signer, width: int) -> Page:
    context = browser.new_context(base_url=server.url, locale="vi-VN", accept_downloads=True,
                                  viewport={"width": width, "height": 900})  # fmt: skip
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(signer.account.email)
    page.get_by_label("Mật khẩu").fill(signer.account.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    return page


def _widget_rect(pdf: Path) -> tuple[float, ...]:
    with pdf.open("rb") as stream:
        reader = PdfFileReader(stream)
        page = reader.root["/Pages"]["/Kids"][0].get_object()
        (widget,) = [a.get_object() for a in page["/Annots"]]
        return tuple(float(v) for v in widget["/Rect"])


def _red_box(png: Path) -> tuple[float, float, float, float]:
    """Where the stamp's red border is drawn: fractions (left, top, right, bottom)."""
    image = Image.open(png).convert("RGB")
    r, g, b = image.split()
    red = Image.merge("RGB", (r.point(lambda v: 255 if v > 150 else 0),
                              g.point(lambda v: 255 if v < 80 else 0),
                              b.point(lambda v: 255 if v < 80 else 0)))  # fmt: skip
    box = red.convert("L").point(lambda v: 255 if v == 255 else 0).getbbox()
    assert box is not None, "no stamp drawn"
    return (box[0] / image.width, box[1] / image.height,
            box[2] / image.width, box[3] / image.height)  # fmt: skip


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize(("name", "geometry", "click", "point", "size"), CASES)
def test_the_stamp_lands_where_it_was_clicked_and_previewed(
    browser: Browser,
    server: KysoServer,
    signer: Signer,
    tmp_path: Path,
    width: int,
    name: str,
    geometry: dict[str, str],
    click: tuple[float, float],
    point: tuple[float, float],
    size: tuple[int, int],
) -> None:
    pdftoppm = require_tool("pdftoppm")
    document = tmp_path / f"{name}.pdf"
    document.write_bytes(page_geometry_pdf(**geometry))
    page = _signed_in(browser, server, signer, width)
    page.goto("/sign")
    page.get_by_label("Tệp PDF").set_input_files(str(document))
    page.get_by_role("button", name="Tải lên và xem trang").click()
    expect(page.get_by_role("heading", name=re.compile("Đặt chữ ký"))).to_be_visible()
    image = page.locator('.page-box[data-page="1"] img')
    expect(image).to_have_js_property("complete", True)
    shown = image.bounding_box()
    assert shown is not None
    image.click(position={"x": click[0] * shown["width"], "y": click[1] * shown["height"]})
    stamp = page.locator('.page-box[data-page="1"] .stamp')
    expect(stamp).to_be_visible()
    red = stamp.bounding_box()
    assert red is not None
    preview = ((red["x"] - shown["x"]) / shown["width"], (red["y"] - shown["y"]) / shown["height"],
               (red["x"] + red["width"] - shown["x"]) / shown["width"],
               (red["y"] + red["height"] - shown["y"]) / shown["height"])  # fmt: skip
    page.get_by_role("radio", name=re.compile(r"^B-B ·")).check()
    page.get_by_label("Mã PIN ký").fill(PIN)
    screenshot(page, f"stamp-placement/{name}-{width}-place")
    page.get_by_role("button", name="Ký tài liệu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã ký xong")
    with page.expect_download() as download_info:
        page.locator("#download").click()
    signed = tmp_path / "signed.pdf"
    download_info.value.save_as(signed)
    page.context.close()

    x1, y1, x2, y2 = _widget_rect(signed)
    assert (round(x2 - x1), round(y2 - y1)) == size
    centre = ((x1 + x2) / 2, (y1 + y2) / 2)
    assert centre == pytest.approx(point, abs=2)

    subprocess.run([pdftoppm, "-png", "-cropbox", "-r", "72", "-singlefile", str(signed),
                    str(tmp_path / "drawn")], check=True, timeout=60)  # fmt: skip
    drawn = _red_box(tmp_path / "drawn.png")
    Image.open(tmp_path / "drawn.png").save(
        SCREENSHOTS / f"stamp-placement/{name}-{width}-signed.png"
    )
    for seen, previewed in zip(drawn, preview, strict=True):
        assert abs(seen - previewed) <= 0.012, (drawn, preview)


def test_the_line_under_the_choices_says_what_the_checked_one_will_do(
    browser: Browser, server: KysoServer, signer: Signer, tmp_path: Path
) -> None:
    """The bottom-right corner is checked when the page opens, and the line says so (it said
    "no place chosen yet" beside it); each choice then says what it will do."""
    document = tmp_path / "a4.pdf"
    document.write_bytes(page_geometry_pdf(tree="/MediaBox [0 0 595 842]", page=""))
    page = _signed_in(browser, server, signer, 1280)
    page.goto("/sign")
    page.get_by_label("Tệp PDF").set_input_files(str(document))
    page.get_by_role("button", name="Tải lên và xem trang").click()
    status = page.locator("#placement-status")
    expect(page.get_by_role("radio", name="Góc dưới bên phải của trang cuối")).to_be_checked()
    expect(status).to_have_text("Con dấu sẽ nằm ở góc dưới bên phải của trang cuối.")
    page.get_by_role("radio", name=re.compile("Không hiển thị con dấu")).check()
    expect(status).to_have_text("Chữ ký sẽ không có con dấu trên trang.")
    page.get_by_role("radio", name="Đặt ở chỗ tôi bấm trên trang").check()
    expect(status).to_have_text("Chưa chọn vị trí: hãy bấm vào một trang.")
    image = page.locator('.page-box[data-page="1"] img')
    expect(image).to_have_js_property("complete", True)
    image.click(position={"x": 100, "y": 100})
    expect(status).to_have_text("Con dấu sẽ nằm ở trang 1.")
    page.get_by_role("radio", name="Góc dưới bên phải của trang cuối").check()
    expect(page.locator('.page-box[data-page="1"] .stamp')).to_be_hidden()
    page.get_by_role("radio", name="Đặt ở chỗ tôi bấm trên trang").check()  # back to the click
    expect(status).to_have_text("Con dấu sẽ nằm ở trang 1.")
    expect(page.locator('.page-box[data-page="1"] .stamp')).to_be_visible()
    page.context.close()
