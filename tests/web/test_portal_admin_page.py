"""An administrator keeps the portals on ``/admin/oidc-clients`` in Chromium: sees each one,
rotates a secret (shown once; the old one stops at the token endpoint) and removes one."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Browser, expect

from tests.support.api import staff
from tests.support.browser import screenshot
from tests.support.server import KysoServer
from tests.web.test_journeys import sign_in

PORTAL = "https://thue.example.vn/callback"


def _token_status(server: KysoServer, client_id: str, secret: str) -> int:
    answer = httpx.post(f"{server.url}/oidc/token", auth=(client_id, secret),
                        data={"grant_type": "authorization_code", "code": "x",
                              "redirect_uri": PORTAL})  # fmt: skip
    return answer.status_code


def test_an_administrator_rotates_and_removes_a_portal(
    browser: Browser, server: KysoServer
) -> None:
    added = json.loads(server.cli("admin", "oidc-client", "add", "--name", "Cổng thuế điện tử",
                                  "--redirect-uri", PORTAL).stdout)  # fmt: skip
    client_id, old = added["client_id"], added["client_secret"]
    admin = staff(server, "admin")
    page = sign_in(browser, server, admin.email)
    page.get_by_role("navigation").get_by_role("link", name="Cổng kết nối").click()
    expect(page.get_by_role("heading", name="Cổng kết nối (OpenID Connect)")).to_be_visible()
    row = page.locator(f'tr[id="{client_id}"]')
    expect(row).to_contain_text("Cổng thuế điện tử")
    expect(row).to_contain_text(PORTAL)
    expect(row).to_contain_text("Mật khẩu ứng dụng")
    assert old not in page.content()
    screenshot(page, "admin-portals/01-list")

    row.get_by_role("button", name="Đổi mật khẩu ứng dụng").click()
    secret = page.locator("#new-secret").inner_text()
    assert len(secret) >= 40
    screenshot(page, "admin-portals/02-rotated")
    assert _token_status(server, client_id, old) == 401
    assert _token_status(server, client_id, secret) == 400  # authenticated; the code is made up
    page.reload()
    assert secret not in page.content()  # shown once

    row = page.locator(f'tr[id="{client_id}"]')
    row.get_by_label("Các phiên đăng nhập của cổng này sẽ kết thúc").check()
    row.get_by_role("button", name="Gỡ cổng").click()
    expect(page.get_by_role("status")).to_contain_text("Đã gỡ cổng Cổng thuế điện tử.")
    expect(page.locator(f'tr[id="{client_id}"]')).to_have_count(0)
    screenshot(page, "admin-portals/03-removed")
    assert _token_status(server, client_id, secret) == 401
    page.context.close()
