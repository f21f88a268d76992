"""Administrators and billing staff at work in a real browser: trust anchors, price plans,
staff accounts, revocation, the audit log; invoices and a credit note; the pages in English
and on a phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, expect
from sqlmodel import Session, select

from api.database import make_engine
from api.usecases.payer import payer_for
from billing.charges import charge
from billing.wallet import top_up
from identity.models import User
from tests.e2e.signing_helpers import make_signers
from tests.support.api import PASSWORD, staff
from tests.support.browser import screenshot
from tests.support.pdfs import application_form_pdf
from tests.support.server import KysoServer
from tests.web.test_journeys import sign_in

PAST = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)
"""A day in a month long over, so that it can be closed into invoices."""


def foreign_root_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Root CA Quốc gia (thử)"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_an_administrators_pages_in_a_browser(
    server: KysoServer, browser: Browser, backend: str
) -> None:
    shots = f"admin-{backend}"
    admin = staff(server, "admin", full_name="Đỗ Quang Hải")
    (signer,) = make_signers(server, 1)
    page = sign_in(browser, server, admin.email)
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.locator("main")).to_contain_text("Nguyên vẹn")
    screenshot(page, f"{shots}/01-overview")

    # trust anchors: add a foreign root, see it listed, remove it
    page.get_by_role("navigation").get_by_role("link", name="CA tin cậy").click()
    page.get_by_label("Chứng thư CA gốc (PEM)").fill(foreign_root_pem())
    page.get_by_role("button", name="Tin cậy CA này").click()
    expect(page.get_by_role("status")).to_contain_text("Root CA Quốc gia (thử)")
    expect(page.locator("tbody tr")).to_have_count(1)
    screenshot(page, f"{shots}/02-trust")
    page.get_by_label("Chữ ký của CA này sẽ không còn được tin cậy").check()
    page.get_by_role("button", name="Thôi tin cậy").click()
    expect(page.get_by_role("status")).to_contain_text("Đã thôi tin cậy")
    expect(page.locator("tbody tr")).to_have_count(0)
    page.get_by_label("Chứng thư CA gốc (PEM)").fill("not a certificate")
    page.get_by_role("button", name="Tin cậy CA này").click()
    expect(page.get_by_role("alert")).to_be_visible()

    # price plans: publish a new version of the citizen plan from tomorrow
    page.get_by_role("navigation").get_by_role("link", name="Bảng giá").click()
    page.get_by_label("Mã bảng giá").select_option("organisation")
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT00:00")
    page.get_by_label(re.compile("^Hiệu lực từ")).fill(tomorrow)
    terms = page.get_by_label("Điều khoản (JSON)")
    terms.fill(terms.input_value().replace("2000000", "1900000"))
    page.get_by_role("button", name="Công bố").click()
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Đã công bố organisation phiên bản \d")
    )
    screenshot(page, f"{shots}/03-plans")

    # staff: an account made here signs in
    page.get_by_role("navigation").get_by_role("link", name="Nhân viên").click()
    email = f"ketoan-{datetime.now(UTC):%H%M%S%f}@kyso.test"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Họ và tên").fill("Vũ Thị Lan")
    page.get_by_label("Vai trò").select_option("billing_staff")
    page.get_by_label(re.compile("^Mật khẩu tạm")).fill(PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.get_by_role("status")).to_contain_text(email)
    expect(page.locator("tbody")).to_contain_text("Vũ Thị Lan")
    screenshot(page, f"{shots}/04-staff")
    newcomer = sign_in(browser, server, email)
    expect(newcomer).to_have_url(re.compile(r"/billing$"))
    newcomer.context.close()

    # revocation: find the citizen's certificate by CCCD and revoke it
    me = signer.account.client.get("/v1/me").json()
    page.get_by_role("navigation").get_by_role("link", name="Thu hồi chứng thư").click()
    page.get_by_label(re.compile("^Tìm theo")).fill(me["cccd"])
    page.get_by_role("button", name="Tìm").click()
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    row.get_by_label("Lý do").select_option("keyCompromise")
    row.get_by_role("button", name="Thu hồi").click()  # not confirmed: the browser holds it back
    expect(page.get_by_role("status")).to_have_count(0)
    row.get_by_label(re.compile("Tôi hiểu")).check()
    row.get_by_role("button", name="Thu hồi").click()
    expect(page.get_by_role("status")).to_contain_text("Lộ khoá")
    expect(page.locator("tbody tr")).to_contain_text("Đã thu hồi")
    screenshot(page, f"{shots}/05-revoked")
    serial = int(page.locator("tbody td.mono").first.inner_text(), 16)
    crl = x509.load_der_x509_crl(httpx.get(f"{server.url}/pki/crl/issuing.crl", timeout=30).content)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    credentials = signer.account.client.get("/v1/me/credentials").json()
    assert credentials[0]["status"] == "revoked"

    # the audit log shows the revocation, and the chain is intact
    page.get_by_role("navigation").get_by_role("link", name="Nhật ký").click()
    page.get_by_label(re.compile("^Loại thao tác")).fill("certificate.revoke")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("tbody tr").first).to_contain_text(admin.email)
    expect(page.locator("main")).to_contain_text("Nguyên vẹn")
    screenshot(page, f"{shots}/06-audit")
    page.context.close()


def _usage_in_a_past_month(server: KysoServer, email: str) -> None:
    """A top-up and two signatures' charges dated in March 2025, written by billing's own
    functions into the server's database (the API only charges at the present time)."""
    engine = make_engine(server.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = session.exec(select(User).where(User.email == email)).one()
            payer = payer_for(session, user)
            top_up(
                session,
                payer.account_id,
                amount=50_000,
                reference=f"past-{user.id}",
                actor="test",
                now=PAST,
            )
            for n in range(2):
                charge(
                    session,
                    payer,
                    "signature.B-T",
                    now=PAST + timedelta(minutes=n),
                    idempotency_key=f"past-{user.id}-{n}",
                )
            session.commit()
    finally:
        engine.dispose()


def test_billing_staff_close_a_month_and_credit_an_invoice_in_a_browser(
    server: KysoServer, browser: Browser, backend: str
) -> None:
    shots = f"billing-{backend}"
    billing = staff(server, "billing_staff", full_name="Phạm Minh Châu")
    (signer,) = make_signers(server, 1, funds=10_000)
    _usage_in_a_past_month(server, signer.account.email)
    page = sign_in(browser, server, billing.email)
    page.get_by_role("navigation").get_by_role("link", name="Hoá đơn").click()
    page.get_by_label(re.compile("^Chốt tháng và lập hoá đơn")).fill("2025-03")
    page.get_by_label("Tôi hiểu tháng đã chốt không thể ghi thêm").check()
    page.get_by_role("button", name="Chốt tháng").click()
    expect(page.get_by_role("status")).to_contain_text("Đã chốt tháng 2025-03")
    row = page.locator("tbody tr", has_text="Nguyễn Thị Mai").first
    expect(row).to_contain_text("8.000 ₫")
    screenshot(page, f"{shots}/01-invoices")
    row.get_by_role("link").click()
    expect(page.locator("table")).to_contain_text("Chữ ký PAdES B-T")
    page.get_by_label(re.compile(r"^Số tiền \(đồng\)")).fill("3.000")
    page.get_by_label("Lý do").fill("Khách hàng khiếu nại: ký nhầm tệp")
    page.get_by_role("button", name="Lập phiếu giảm trừ").click()
    expect(page.get_by_role("status")).to_contain_text("3.000 ₫ đã hoàn vào ví")
    expect(page.locator("main")).to_contain_text("Khách hàng khiếu nại: ký nhầm tệp")
    screenshot(page, f"{shots}/02-credit-note")
    page.get_by_label(re.compile(r"^Số tiền \(đồng\)")).fill("999.000")
    page.get_by_label("Lý do").fill("quá nhiều")
    page.get_by_role("button", name="Lập phiếu giảm trừ").click()
    expect(page.get_by_role("alert")).to_contain_text("vượt quá phần còn lại")
    wallet = signer.account.client.get("/v1/me/wallet").json()
    assert any(e["kind"] == "credit_note" and e["amount"] == 3_000 for e in wallet["entries"])
    page.context.close()


def test_pages_in_english_and_on_a_phone(
    server: KysoServer, browser: Browser, backend: str, tmp_path: Path
) -> None:
    (signer,) = make_signers(server, 1)
    context = browser.new_context(
        base_url=server.url,
        locale="en-GB",
        extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"},
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(signer.account.email)
    page.get_by_label("Password").fill("wrong password 1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email address or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("^Hello, "))).to_be_visible()
    screenshot(page, f"phone-{backend}/01-overview-en")
    # nothing spills sideways on a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.get_by_role("link", name="Sign a document").first.click()
    document = tmp_path / "form.pdf"
    document.write_bytes(application_form_pdf())
    page.get_by_label("PDF file").set_input_files(str(document))
    page.get_by_role("button", name="Upload and see the pages").click()
    expect(page.get_by_role("radio", name=re.compile(r"^B-LT ·"))).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"phone-{backend}/02-place-en")
    # back to Vietnamese with the switch, and it sticks
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", name=re.compile("^Đặt chữ ký"))).to_be_visible()
    page.goto("/me/wallet")
    expect(page.get_by_role("heading", name="Ví và chi phí")).to_be_visible()
    screenshot(page, f"phone-{backend}/03-wallet-vi")
    context.close()
