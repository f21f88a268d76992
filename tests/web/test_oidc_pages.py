"""A portal's sign-in through kyso in Chromium (1280 and 390 wide): the site's own pages,
Vietnamese first with the English switch, a link to register, the CCCD named on the consent
page, a strict Content-Security-Policy that the browser enforces without complaint, and the
redirect back to the portal."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.support.api import proof, register_citizen, staff
from tests.support.browser import screenshot
from tests.support.server import KysoServer

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

PORTAL = "https://dichvucong.example.vn/callback"


def _authorize_url(server: KysoServer) -> str:
    done = server.cli("admin", "oidc-client", "add", "--name", "Cổng dịch vụ công Hà Nội",
                      "--redirect-uri", PORTAL, "--public",
                      "--scopes", "openid profile cccd")  # fmt: skip
    client_id = json.loads(done.stdout)["client_id"]
    params = {"client_id": client_id, "redirect_uri": PORTAL, "response_type": "code",
              "scope": "openid profile cccd", "state": "st-1",
              "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSW_2ytw",
              "code_challenge_method": "S256"}  # fmt: skip
    return f"{server.url}/oidc/authorize?{urlencode(params)}"


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems


@pytest.mark.parametrize("width", [1280, 390])
def test_a_portal_sign_in_uses_the_site_pages_in_one_language(
    browser: Browser, server: KysoServer, width: int
) -> None:
    citizen = register_citizen(server)
    proof(staff(server, "registration_officer"), citizen)
    context = browser.new_context(locale="vi-VN", viewport={"width": width, "height": 900})
    arrived: list[str] = []

    def portal(route: Route) -> None:  # the portal's callback, which does not exist here
        arrived.append(route.request.url)
        route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body="<h1>Cổng dịch vụ công</h1>"
        )

    context.route(re.compile(r"^https://dichvucong\.example\.vn/.*"), portal)
    page = context.new_page()
    problems = _watch(page)
    answer = page.goto(_authorize_url(server))
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "style-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "form-action 'self' https://dichvucong.example.vn" in policy
    expect(page.get_by_role("heading", name="Đăng nhập bằng kyso")).to_be_visible()
    expect(page.get_by_text("Cổng dịch vụ công Hà Nội muốn biết bạn là ai")).to_be_visible()
    expect(page.get_by_role("link", name="Chưa có tài khoản? Đăng ký")).to_have_attribute(
        "href", "/register")  # fmt: skip
    assert "Sign in" not in page.locator("main").inner_text()  # one language at a time
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    screenshot(page, f"oidc/sign-in-vi-{width}")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Sign in with kyso")).to_be_visible()
    assert "Đăng nhập bằng kyso" not in page.locator("main").inner_text()
    screenshot(page, f"oidc/sign-in-en-{width}")
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", name="Đăng nhập bằng kyso")).to_be_visible()

    page.get_by_label("Email").fill(citizen.email)
    page.get_by_label("Mật khẩu").fill("wrong-password-1")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_have_text("Sai địa chỉ email hoặc mật khẩu.")
    page.get_by_label("Email").fill(citizen.email)
    page.get_by_label("Mật khẩu").fill(citizen.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Cho phép chia sẻ thông tin")).to_be_visible()
    expect(page.locator("li.cccd")).to_have_text("SỐ CĂN CƯỚC CÔNG DÂN (CCCD) của bạn")
    screenshot(page, f"oidc/consent-vi-{width}")
    page.get_by_role("button", name="Cho phép").click()
    expect(page.get_by_role("heading", name="Cổng dịch vụ công")).to_be_visible()
    (back,) = arrived
    query = parse_qs(urlsplit(back).query)
    assert query["state"] == ["st-1"]
    assert query["code"]
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()


def test_a_bad_request_is_explained_on_a_site_page(browser: Browser, server: KysoServer) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    problems = _watch(page)
    answer = page.goto(f"{server.url}/oidc/authorize?client_id=nobody&response_type=code")
    assert answer is not None
    assert answer.status == 400
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Cannot sign in")).to_be_visible()
    screenshot(page, "oidc/bad-request-en")
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()
