"""Issue 17 item 1 in a browser: the citizen's locked-certificate page says what a reset needs,
and a registration officer approves a reset for a citizen seen in person."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.signing_helpers import make_signers
from tests.support.api import PASSWORD, staff
from tests.support.server import KysoServer
from tests.web.test_journeys import sign_in


def test_an_officer_approves_the_pin_reset_of_a_citizen_seen_in_person(
    browser: Browser, server: KysoServer
) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    client, cid = signer.account.client, signer.credential_id
    for _ in range(5):
        client.post("/v1/me/authorisations",
                    json={"credential_id": cid, "pin": "739201", "count": 1})  # fmt: skip
    citizen_page = sign_in(browser, server, signer.account.email)
    citizen_page.goto("/me/certificate")
    expect(citizen_page.get_by_text(re.compile("gặp cán bộ đăng ký"))).to_be_visible()
    citizen_page.context.close()

    body = {"password": PASSWORD, "new_pin": "582046"}
    refused = client.post(f"/v1/me/credentials/{cid}/reset", json=body)
    assert refused.json()["code"] == "credential.reset_needs_officer"

    officer = staff(server, "registration_officer")
    page = sign_in(browser, server, officer.email)
    page.goto("/officer/registrations")
    entry = page.locator("details", has_text=signer.account.email)
    entry.locator("summary").click()
    entry.get_by_label(re.compile("Tôi đã gặp trực tiếp")).check()
    entry.get_by_role("button", name="Duyệt đặt lại mã PIN").click()
    expect(page.get_by_role("status")).to_contain_text("Đã duyệt yêu cầu đặt lại mã PIN")
    expect(page.locator("details", has_text=signer.account.email)).to_have_count(0)
    page.context.close()

    reset = client.post(f"/v1/me/credentials/{cid}/reset", json=body)
    assert reset.status_code == 201, reset.text
