"""Issue 17 item 8 in a browser: a registration officer sees two registrations of one CCCD side
by side and rejects the impostor's."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Browser, Locator, expect

from tests.e2e.test_cccd_squat import _register
from tests.support.api import new_cccd, staff
from tests.support.server import KysoServer
from tests.web.test_journeys import sign_in


def test_an_officer_rejects_the_impostors_registration(
    browser: Browser, server: KysoServer
) -> None:
    cccd = new_cccd(date(1985, 3, 3))
    impostor = _register(server, cccd, "impostor").json()
    owner = _register(server, cccd, "owner").json()
    officer = staff(server, "registration_officer")
    page = sign_in(browser, server, officer.email)
    page.goto("/officer/registrations")

    def entry_of(email: str) -> Locator:  # its own facts, not another's list of competitors
        return page.locator("details", has=page.locator("dd", has_text=email))

    entry = entry_of(impostor["email"])
    if entry.get_attribute("open") is None:
        entry.locator("summary").click()
    expect(entry.get_by_text("tài khoản khác cũng khai số CCCD này")).to_be_visible()
    entry.get_by_role("button", name="Từ chối tài khoản này (mạo danh)").click()
    expect(page.get_by_role("status")).to_contain_text("Đã từ chối và khoá tài khoản")
    expect(entry_of(impostor["email"])).to_have_count(0)
    remaining = entry_of(owner["email"])
    expect(remaining).to_have_count(1)
    expect(remaining.get_by_text("tài khoản khác cũng khai số CCCD này")).to_have_count(0)
    page.context.close()
