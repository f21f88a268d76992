"""The administrator's certificate page names each holder and their CCCD, not a raw DN; the
DN stays in the tooltip."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.signing_helpers import make_signers
from tests.support.api import staff
from tests.support.browser import screenshot
from tests.support.server import KysoServer
from tests.web.test_journeys import sign_in

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone


def test_certificates_show_names_and_cccd(browser: Browser, server: KysoServer) -> None:
    (signer,) = make_signers(server, 1, funds=0)
    me = signer.account.client.get("/v1/me").json()
    name, cccd = me["full_name"], me["cccd"]
    admin = staff(server, "admin")
    page = sign_in(browser, server, admin.email)
    page.goto(f"/admin/certificates?q={cccd}")
    holder = page.locator("tbody tr").first.locator(".subject")
    expect(holder.locator("strong")).to_have_text(name)
    expect(holder).to_contain_text(f"CCCD {cccd}")
    assert holder.get_attribute("title") == f"UID=CCCD:{cccd},CN={name},C=VN"
    assert "UID=" not in page.locator("main").inner_text()
    screenshot(page, "admin-subjects/01-certificates")
    page.context.close()
