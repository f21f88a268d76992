"""Each role's main journey in a real browser (Debian's Chromium) over a running kyso: a
citizen registers, is proofed by an officer, gets a certificate, signs with a stamp placed by
clicking, downloads the file (which pdfsig accepts) and sees the charge; an agency officer
verifies it and downloads the report; billing staff see it in the dashboard and export it."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from playwright.sync_api import Browser, Page, expect
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.support.api import PASSWORD, new_cccd, staff
from tests.support.browser import screenshot
from tests.support.pdfs import application_form_pdf
from tests.support.pki import PkiFiles
from tests.support.server import KysoServer, require_tool
from tests.support.validate import pdfsig_report, pyhanko_verdicts, qpdf_clean

PIN = "270419"


@dataclass
class Person:
    email: str
    page: Page


def sign_in(browser: Browser, server: KysoServer, email: str, *, lang: str = "vi-VN") -> Page:
    context = browser.new_context(
        base_url=server.url,
        locale=lang,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    return page


def register(browser: Browser, server: KysoServer, shots: str) -> tuple[str, str]:
    context = browser.new_context(
        base_url=server.url, locale="vi-VN", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto("/")
    screenshot(page, f"{shots}/01-home")
    page.get_by_role("link", name="Đăng ký").first.click()
    email = f"mai-{new_cccd(date(1990, 5, 17))[-6:]}@example.vn"
    cccd = new_cccd(date(1990, 5, 17), male=False)
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Mai")
    page.get_by_label("Số CCCD").fill(cccd)
    page.get_by_label("Ngày sinh").fill("1990-05-17")
    page.get_by_label("Nữ").check()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Mật khẩu").fill("ngắn")  # too short: explained next to the field
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_text("Mật khẩu cần ít nhất 10 ký tự.")).to_be_visible()
    screenshot(page, f"{shots}/02-register-error")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_role("status")).to_contain_text("Đăng ký thành công")
    expect(page).to_have_url(re.compile(r"/login$"))
    screenshot(page, f"{shots}/03-registered")
    context.close()
    return email, cccd


def proof(browser: Browser, server: KysoServer, officer_email: str, cccd: str, shots: str) -> None:
    page = sign_in(browser, server, officer_email)
    expect(page).to_have_url(re.compile(r"/officer/registrations$"))
    entry = page.locator("details", has_text=cccd)
    if entry.get_attribute("open") is None:
        entry.locator("summary").click()
    screenshot(page, f"{shots}/04-officer-queue")
    entry.get_by_label(re.compile("Tôi đã đối chiếu")).check()
    entry.get_by_role("button", name="Xác nhận đã xác minh").click()
    expect(page.get_by_role("status")).to_contain_text("Đã xác minh danh tính của Nguyễn Thị Mai")
    expect(page.locator("details", has_text=cccd)).to_have_count(0)
    page.context.close()


def top_up_at_desk(
    browser: Browser, server: KysoServer, billing_email: str, citizen: str, shots: str
) -> None:
    page = sign_in(browser, server, billing_email)
    page.get_by_role("link", name="Ghi nhận nạp tiền").click()
    page.get_by_label("Email của người dân").fill(citizen)
    page.get_by_label("Số tiền (đồng)").fill("100.000")
    page.get_by_label("Mã tham chiếu giao dịch ngân hàng").fill(f"VCB-{citizen[:10]}")
    page.get_by_role("button", name="Tiếp tục").click()  # whose wallet, before recording
    expect(page.locator("#payee-name")).to_have_text("Nguyễn Thị Mai")
    page.get_by_role("button", name="Đúng người, ghi nhận").click()
    expect(page.get_by_role("status")).to_contain_text("Số dư mới: 100.000 ₫")
    screenshot(page, f"{shots}/05-billing-top-up")
    page.context.close()


def get_certificate_and_sign(
    browser: Browser, server: KysoServer, email: str, shots: str, folder: Path
) -> tuple[Path, str, tuple[float, float]]:
    page = sign_in(browser, server, email)
    expect(page).to_have_url(re.compile(r"/me$"))
    screenshot(page, f"{shots}/06-citizen-overview")
    page.get_by_role("link", name="Tạo chứng thư").click()
    page.get_by_label("Mã PIN mới").fill(PIN)
    page.get_by_label("Nhập lại mã PIN").fill(PIN)
    page.get_by_role("button", name="Tạo chứng thư").click()
    expect(page.locator("#puk")).to_have_text(re.compile(r"\S{8,}"))
    screenshot(page, f"{shots}/07-certificate-puk")

    page.get_by_role("link", name="Ký tài liệu").first.click()
    document = folder / "don-xin-phep.pdf"
    document.write_bytes(application_form_pdf())
    page.get_by_label("Tệp PDF").set_input_files(str(document))
    screenshot(page, f"{shots}/08-sign-upload")
    page.get_by_role("button", name="Tải lên và xem trang").click()
    expect(page.get_by_role("heading", name=re.compile("Đặt chữ ký"))).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile(r"^B-LT ·"))).to_be_checked()  # preselected
    last_page = page.locator('.page-box[data-page="2"]')
    image = last_page.locator("img")
    expect(image).to_have_js_property("complete", True)
    box = image.bounding_box()
    assert box is not None
    # Click where the form says "Người làm đơn": x 360..470 pt, y ~250 pt from the bottom.
    scale = box["width"] / 595
    click = (430 * scale, (842 - 200) * scale)
    image.click(position={"x": click[0], "y": click[1]})
    expect(last_page.locator(".stamp")).to_be_visible()
    expect(page.locator("#placement-status")).to_have_text("Con dấu sẽ nằm ở trang 2.")
    page.get_by_label("Lý do ký").fill("Nộp hồ sơ xin phép xây dựng")
    page.get_by_label("Nơi ký").fill("Hà Nội")
    page.get_by_label("Mã PIN ký").fill("000000")  # wrong: explained, nothing charged
    page.get_by_role("button", name="Ký tài liệu").click()
    expect(page.get_by_role("alert")).to_contain_text("Mã PIN không đúng")
    expect(page.locator(".stamp.shown")).to_have_count(1)  # the placement is kept
    screenshot(page, f"{shots}/09-sign-wrong-pin")
    page.get_by_label("Mã PIN ký").fill(PIN)
    screenshot(page, f"{shots}/10-sign-place")
    page.get_by_role("button", name="Ký tài liệu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã ký xong")
    expect(page.locator("dl.facts")).to_contain_text("4.000 ₫")
    expect(page.locator("dl.facts")).to_contain_text("96.000 ₫")
    screenshot(page, f"{shots}/11-signed")
    signature_id = page.url.split("/me/signatures/")[1].split("?")[0]
    with page.expect_download() as download_info:
        page.locator("#download").click()
    signed = folder / "don-xin-phep-signed.pdf"
    download_info.value.save_as(signed)

    page.get_by_role("link", name="Lịch sử ký").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("don-xin-phep.pdf")
    expect(row).to_contain_text("4.000 ₫")
    screenshot(page, f"{shots}/12-history")
    page.get_by_role("link", name="Ví và chi phí").click()
    expect(page.locator("#balance")).to_have_text("96.000 ₫")
    screenshot(page, f"{shots}/13-wallet")
    page.context.close()
    return signed, signature_id, (430.0, 200.0)


def verify_as_agency(
    browser: Browser, server: KysoServer, email: str, signed: Path, shots: str, folder: Path
) -> None:
    page = sign_in(browser, server, email)
    expect(page).to_have_url(re.compile(r"/verify$"))
    page.get_by_label("Tệp PDF").set_input_files(str(signed))
    screenshot(page, f"{shots}/14-verify-upload")
    page.get_by_role("button", name="Xác minh").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_have_class(re.compile("green"))
    expect(verdict).to_contain_text("Hợp lệ")
    expect(page.locator("section.card").first).to_contain_text("Nguyễn Thị Mai")
    expect(page.locator("section.card").first).to_contain_text("B-LT")
    screenshot(page, f"{shots}/15-verify-report")
    with page.expect_download() as download_info:
        page.locator("#report-pdf").click()
    report = folder / "report.pdf"
    download_info.value.save_as(report)
    text = subprocess.run(
        [require_tool("pdftotext"), str(report), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Nguyễn Thị Mai" in text
    assert "TOTAL_PASSED" in text
    page.context.close()


def billing_dashboard(
    browser: Browser, server: KysoServer, email: str, shots: str, folder: Path
) -> list[dict[str, str]]:
    page = sign_in(browser, server, email)
    expect(page).to_have_url(re.compile(r"/billing$"))
    expect(page.locator("#total-amount")).not_to_have_text("0 ₫")
    expect(page.locator("svg.chart")).to_have_count(3)
    expect(page.locator("#accounts")).to_contain_text("Nguyễn Thị Mai")
    screenshot(page, f"{shots}/16-billing-dashboard")
    with page.expect_download() as download_info:
        page.locator("#export-usage").click()
    exported = folder / "usage.csv"
    download_info.value.save_as(exported)
    page.context.close()
    return list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))


def stamp_rect(path: Path) -> tuple[int, list[float]]:
    """The page (1-based) and rectangle of the signature's widget."""
    reader = PdfFileReader(path.open("rb"))
    for number in range(reader.root["/Pages"]["/Count"]):
        page = reader.root["/Pages"]["/Kids"][number]
        for annotation in page.get("/Annots", []):
            widget = annotation.get_object()
            if widget.get("/FT") == "/Sig" or widget.get("/Parent", {}).get("/FT") == "/Sig":
                return number + 1, [float(v) for v in widget["/Rect"]]
    raise AssertionError("no signature widget")


def test_every_role_main_journey_in_a_browser(
    server: KysoServer, pki: PkiFiles, browser: Browser, backend: str, tmp_path: Path
) -> None:
    shots = f"journey-{backend}"
    officer = staff(server, "registration_officer", full_name="Trần Văn Bình")
    agency = staff(server, "agency_officer", full_name="Lê Thu Hà")
    billing = staff(server, "billing_staff", full_name="Phạm Minh Châu")

    email, cccd = register(browser, server, shots)
    proof(browser, server, officer.email, cccd, shots)
    top_up_at_desk(browser, server, billing.email, email, shots)
    signed, signature_id, (x, y) = get_certificate_and_sign(browser, server, email, shots, tmp_path)

    # The downloaded file is a valid PAdES B-LT signature for tools we did not write ...
    (seen,) = pdfsig_report(signed)
    assert seen["Signature Validation"] == "Signature is Valid.", seen
    assert seen["Signer Certificate Common Name"] == "Nguyễn Thị Mai"
    assert qpdf_clean(signed)
    root = asn1_x509.Certificate.load(pem.unarmor(pki.root.read_bytes())[2])
    with ThreadPoolExecutor(1) as aside:  # Playwright's loop runs in this thread
        (judged,) = aside.submit(pyhanko_verdicts, signed, root).result()
    assert (judged.intact, judged.valid, judged.trusted) == (True, True, True), judged
    assert (judged.timestamp_trusted, judged.long_term) == (True, True), judged
    # ... and its stamp sits where the citizen clicked: centred there, on page 2.
    page, rect = stamp_rect(signed)
    assert page == 2
    assert abs((rect[0] + rect[2]) / 2 - x) < 6, rect
    assert abs((rect[1] + rect[3]) / 2 - y) < 6, rect
    assert (round(rect[2] - rect[0]), round(rect[3] - rect[1])) == (220, 70)

    verify_as_agency(browser, server, agency.email, signed, shots, tmp_path)
    rows = billing_dashboard(browser, server, billing.email, shots, tmp_path)
    (charged,) = [r for r in rows if r["signature_id"] == signature_id]
    assert (charged["product"], charged["amount"]) == ("signature.B-LT", "4000")
