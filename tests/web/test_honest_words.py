"""What a person reads is true and says where to go next, in a real browser at 1280 and 390
pixels: the front page's prices are the plan in force with the free public-service allowance;
the wallet compares honestly and names the plan in English; a locked PIN links to the PUK
unlock and to a web path for a lost PUK, which replaces the key; an empty wallet links to
paying in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlmodel import Session, col, update

from api.database import make_engine
from identity.models import Credential, WebSession
from tests.e2e.signing_helpers import make_signers
from tests.support.api import PASSWORD, enrol_otp, register_citizen
from tests.support.browser import chromium, screenshot
from tests.support.pdfs import application_form_pdf
from tests.support.server import KysoServer
from tests.web.test_journeys import sign_in

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

WIDTHS = [1280, 390]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.parametrize("width", WIDTHS)
def test_the_front_page_shows_the_plan_in_force_and_the_free_allowance(
    server: KysoServer, browser: Browser, width: int
) -> None:
    context = browser.new_context(base_url=server.url, locale="vi-VN",
                                  viewport={"width": width, "height": 900})  # fmt: skip
    page = context.new_page()
    page.goto("/")
    prices = page.locator("#prices")
    expect(prices).to_contain_text("4.000 ₫ mỗi chữ ký")
    expect(prices).to_contain_text("Miễn phí 5 chữ ký mỗi tháng cho hồ sơ nộp dịch vụ công")
    expect(prices).to_contain_text("thấp nhất 500 ₫ từ chữ ký thứ 1.000.001")
    expect(prices).not_to_contain_text("từ 500")
    screenshot(page, f"front-prices-{width}")
    page.goto("/language/en")
    expect(page.locator("#prices")).to_contain_text("4,000 VND a signature")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_wallet_compares_honestly_and_names_the_plan_in_english(
    server: KysoServer, browser: Browser, width: int
) -> None:
    citizen = register_citizen(server)
    page = sign_in(browser, server, citizen.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/me/wallet")
    expect(page.locator("#compare-words")).to_contain_text("Bạn chưa ký lần nào năm nay")
    expect(page.locator("main")).not_to_contain_text("tiết kiệm")
    page.goto("/language/en?next=/me/wallet")
    expect(page.locator("#plan-name")).to_have_text("Price plan: Citizen: pay per signature")
    screenshot(page, f"wallet-honest-en-{width}")
    page.context.close()


def _lock(server: KysoServer, credential_id: str) -> None:
    """Five wrong PINs' outcome, written directly (the PIN rules are tested elsewhere)."""
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            session.execute(update(Credential).where(col(Credential.id) == credential_id)
                            .values(status="locked"))  # fmt: skip
            session.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_locked_pin_links_to_the_puk_and_a_lost_puk_has_a_web_path(
    server: KysoServer, browser: Browser, width: int
) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    _lock(server, signer.credential_id)
    page = sign_in(browser, server, signer.account.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/me/certificate/reset")  # no second factor yet: only an officer may allow it
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_label("Mã PIN mới").fill("482915")
    page.get_by_label("Nhập lại mã PIN").fill("482915")
    page.get_by_role("button", name="Thay khoá ký mới").click()
    expect(page.get_by_role("alert")).to_contain_text("cán bộ đăng ký")
    totp = enrol_otp(signer.account)  # with one, the password and a code do
    page.goto("/me/certificate")
    locked = page.locator("#locked")
    expect(locked.get_by_role("link", name="Mở khoá bằng mã PUK")).to_have_attribute(
        "href", "#unlock")  # fmt: skip
    screenshot(page, f"certificate-locked-{width}")
    locked.get_by_role("link", name="Mất mã PUK?").click()
    expect(page).to_have_url(re.compile(r"/me/certificate/reset$"))
    screenshot(page, f"certificate-lost-puk-{width}")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_label("Mã một lần").fill(totp.at(time.time() + 30))
    page.get_by_label("Mã PIN mới").fill("482915")
    page.get_by_label("Nhập lại mã PIN").fill("482915")
    page.get_by_role("button", name="Thay khoá ký mới").click()
    expect(page.locator("#puk")).to_have_text(re.compile(r"\S{8,}"))
    screenshot(page, f"certificate-replaced-{width}")
    credentials = signer.account.client.get("/v1/me/credentials").json()
    statuses = sorted(str(c["status"]) for c in credentials)
    assert "active" in statuses
    assert "locked" not in statuses, statuses
    page.context.close()


def test_an_empty_wallet_links_to_paying_in_and_names_the_free_allowance(
    server: KysoServer, browser: Browser, tmp_path: Path
) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    page = sign_in(browser, server, signer.account.email)
    page.goto("/sign")
    document = tmp_path / "don.pdf"
    document.write_bytes(application_form_pdf())
    page.get_by_label("Tệp PDF").set_input_files(str(document))
    page.get_by_role("button", name="Tải lên và xem trang").click()
    page.get_by_label("Mã PIN ký").fill("123456")
    page.get_by_role("button", name="Ký tài liệu").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Số dư ví không đủ")
    expect(alert).to_contain_text("dịch vụ công được miễn phí")
    expect(alert.get_by_role("link", name="Nạp tiền vào ví")).to_have_attribute(
        "href", "/me/wallet#pay-in")  # fmt: skip
    screenshot(page, "sign-empty-wallet-1280")
    page.context.close()


def _end_sessions(server: KysoServer, user_id: str) -> None:
    """The browser's session outlived (as after 12 hours): written directly."""
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            session.execute(update(WebSession).where(col(WebSession.user_id) == user_id)
                            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))  # fmt: skip
            session.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_expired_session_says_so_and_keeps_the_forms_choices(
    server: KysoServer, browser: Browser, width: int, tmp_path: Path
) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    page = sign_in(browser, server, signer.account.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/sign")
    document = tmp_path / "don.pdf"
    document.write_bytes(application_form_pdf())
    page.get_by_label("Tệp PDF").set_input_files(str(document))
    page.get_by_role("button", name="Tải lên và xem trang").click()
    page.get_by_role("radio", name=re.compile(r"^B-T ·")).check()
    page.get_by_label("Lý do ký").fill("Nộp hồ sơ xin phép xây dựng")
    page.get_by_label("Nơi ký").fill("Hà Nội")
    page.get_by_label("Mã PIN ký").fill("123456")
    _end_sessions(server, signer.account.id)
    page.get_by_role("button", name="Ký tài liệu").click()
    expect(page).to_have_url(re.compile(r"/login\?next=.*expired=1"))
    expect(page.get_by_role("status")).to_contain_text("Phiên đăng nhập của bạn đã hết hạn")
    screenshot(page, f"login-expired-{width}")
    page.get_by_label("Email").fill(signer.account.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/sign/[^/?]+\?"))
    expect(page.get_by_role("radio", name=re.compile(r"^B-T ·"))).to_be_checked()
    expect(page.get_by_label("Lý do ký")).to_have_value("Nộp hồ sơ xin phép xây dựng")
    expect(page.get_by_label("Nơi ký")).to_have_value("Hà Nội")
    expect(page.get_by_label("Mã PIN ký")).to_have_value("")
    assert "123456" not in page.url
    page.context.close()
