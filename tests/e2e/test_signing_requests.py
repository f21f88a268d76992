"""A public-service portal asks a citizen to sign: a tiny portal app on another port creates
signing requests over real HTTP, the citizen signs (or declines) on kyso's page in Chromium
at 390 px after reading the page's QR code, the portal gets its citizen back and a webhook
whose JWS it checks with joserfc (not kyso's python-jose) against kyso's JWKS, and downloads
PDFs that pdfsig, qpdf, openssl and pyHanko accept. Who pays is checked in the books."""

from __future__ import annotations

import base64
import io
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
import schemathesis
import zxingcpp
from hypothesis import HealthCheck, given, settings
from joserfc import jws
from joserfc.jwk import KeySet
from PIL import Image
from playwright.sync_api import Browser, ViewportSize, expect

from tests.e2e.signing_helpers import FUNDS, PIN, Signer, make_signers
from tests.support.api import Account, register_citizen, staff
from tests.support.browser import chromium, screenshot
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles
from tests.support.server import KysoServer, free_port
from tests.support.validate import judge_signed_pdf
from tests.support.web import WebClient

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
FIGURES = Path(__file__).parents[2] / "artifacts" / "figures.jsonl"


@dataclass
class PortalApp:
    """The portal's own web server: its return page and its webhook, and every request it
    received (its log)."""

    port: int
    received: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    hooks: list[tuple[float, bytes]] = field(default_factory=list)
    verified: dict[bytes, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hook_for(self, request_id: str, timeout: float = 30) -> dict[str, Any]:
        """The webhook of ``request_id``, verified (waiting for it)."""
        deadline = time.monotonic() + timeout
        keys = KeySet.import_key_set(httpx.get(f"{self.kyso}/oidc/jwks").json())
        while time.monotonic() < deadline:
            for _, body in list(self.hooks):
                if body not in self.verified:
                    self.verified[body] = self.verify(body, keys)
                if self.verified[body]["id"] == request_id:
                    return self.verified[body]
            time.sleep(0.02)
        raise AssertionError(f"no webhook for {request_id}")

    @staticmethod
    def verify(body: bytes, keys: KeySet) -> dict[str, Any]:
        token = jws.deserialize_compact(body, keys, algorithms=["ES256"])
        assert token.protected["alg"] == "ES256"
        assert token.protected["kid"]
        claims: dict[str, Any] = json.loads(token.payload)
        return claims

    kyso: str = ""


@dataclass
class Portal:
    client_id: str
    secret: str
    name: str
    organisation_id: str
    app: PortalApp

    @property
    def auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)

    def ask(self, server: KysoServer, signer: Account, *, documents: int = 2,
            **fields: str) -> httpx.Response:  # fmt: skip
        files = [("file", (f"to-khai-{n}.pdf", simple_pdf(pages=n + 1), "application/pdf"))
                 for n in range(documents)]  # fmt: skip
        data = {"cccd": _cccd(signer), "purpose": "Đăng ký khai sinh cho con",
                "return_url": f"{self.app.url}/back", "webhook_url": f"{self.app.url}/hook",
                "payer": "sponsor", **fields}  # fmt: skip
        # each PDF's pages are drawn in a child process: slow on a loaded machine
        return httpx.post(f"{server.url}/v1/signing-requests", auth=self.auth, data=data,
                          files=files, timeout=180)  # fmt: skip


def _cccd(account: Account) -> str:
    cccd: str = account.client.get("/v1/me").json()["cccd"]
    return cccd


def _portal_app() -> tuple[PortalApp, ThreadingHTTPServer]:
    app = PortalApp(free_port())

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> bytes:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            app.received.append((self.command, self.path, dict(self.headers), body))
            return body

        def do_GET(self) -> None:
            self._record()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"<h1>Cong dich vu cong: da nhan</h1>")

        def do_POST(self) -> None:
            body = self._record()
            if self.path == "/hook":
                app.hooks.append((time.monotonic(), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", app.port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return app, httpd


def make_portal(server: KysoServer, app: PortalApp, *, sponsor: bool = True) -> Portal:
    name = f"Cổng dịch vụ công tỉnh {secrets.token_hex(3)}"
    organisation = json.loads(server.cli("admin", "create-organisation", "--name", name,
                                         "--kind", "agency").stdout)  # fmt: skip
    portal_options = ["--signing-requests", "--webhook-url", f"{app.url}/hook"]
    created = json.loads(server.cli("admin", "oidc-client", "add", "--name", name,
                                    "--redirect-uri", f"{app.url}/back", "--scopes",
                                    "openid profile",
                                    *([] if sponsor else portal_options)).stdout)  # fmt: skip
    if sponsor:  # made a portal afterwards, with its paying organisation
        server.cli("admin", "oidc-client", "portal", created["client_id"],
                   "--payer-organisation", name, "--webhook-url", f"{app.url}/hook")  # fmt: skip
    else:  # registered as a portal at once
        assert created["signing_requests"] is True
    return Portal(created["client_id"], created["client_secret"], name, organisation["id"], app)


@pytest.fixture(scope="module")
def app(server: KysoServer) -> Iterator[PortalApp]:
    made, httpd = _portal_app()
    made.kyso = server.url
    yield made
    httpd.shutdown()


@pytest.fixture(scope="module")
def portal(server: KysoServer, app: PortalApp) -> Portal:
    return make_portal(server, app)


@pytest.fixture(scope="module")
def billing(server: KysoServer) -> Iterator[Account]:
    account = staff(server, "billing_staff")
    yield account
    account.client.close()


def _signature_charges(billing: Account, account_id: str) -> list[dict[str, Any]]:
    items = billing.client.get("/v1/billing/usage", params={"account_id": account_id}).json()
    return [e for e in items["items"] if str(e["product"]).startswith("signature.")]


def _balance(signer: Signer) -> int:
    balance: int = signer.account.client.get("/v1/me/wallet").json()["balance"]
    return balance


def test_a_sponsored_request_signed_on_a_phone_from_the_qr_code(
    server: KysoServer, portal: Portal, billing: Account, pki: PkiFiles, workdir: Path
) -> None:
    (signer,) = make_signers(server, 1)
    asked = portal.ask(server, signer.account)
    assert asked.status_code == 201, asked.text
    created = asked.json()
    assert (created["status"], created["documents"], created["payer"]) == ("pending", 2, "sponsor")
    with chromium() as browser:
        decoded = _qr_on_desktop(browser, server, signer, created["sign_url"])
        assert decoded == created["sign_url"]
        phone = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True)
        page = phone.new_page()
        page.goto(decoded)  # not signed in: the sign-in page, then back here
        page.get_by_label("Email").fill(signer.account.email)
        page.get_by_label("Mật khẩu").fill(signer.account.password)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.locator("#portal-name")).to_have_text(portal.name)
        expect(page.locator("#purpose")).to_have_text("Đăng ký khai sinh cho con")
        expect(page.locator("#price")).to_contain_text(portal.name)
        expect(page.locator("#sign-qr")).to_be_hidden()  # on a phone: no QR code
        assert page.locator("img[src*='/pages/']").count() == 1 + 2  # every page of both
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a 390 px phone"
        screenshot(page, "signing-request/phone")
        page.get_by_label("Mã PIN ký").fill(PIN)
        page.get_by_role("button", name="Ký tất cả tài liệu").click()
        page.wait_for_url(f"{portal.app.url}/back*", timeout=120_000)
        back = parse_qs(urlsplit(page.url).query)
        assert back == {"id": [created["id"]], "status": ["signed"]}
        phone.close()
    hook = portal.app.hook_for(created["id"])
    assert hook["status"] == "signed"
    assert hook["aud"] == portal.client_id
    assert len(hook["documents"]) == 2
    status = httpx.get(f"{server.url}/v1/signing-requests/{created['id']}", auth=portal.auth)
    assert status.json()["status"] == "signed"
    for n, url in enumerate(hook["documents"], start=1):
        pdf = httpx.get(url, auth=portal.auth, timeout=60)
        assert pdf.status_code == 200, pdf.text
        path = workdir / f"signed-{n}.pdf"
        path.write_bytes(pdf.content)
        judge_signed_pdf(path, pki.root, "B-LT", 1, workdir)
    assert len(_signature_charges(billing, portal.organisation_id)) == 2, "the sponsor pays twice"
    assert _signature_charges(billing, _user_id(signer)) == []
    assert _balance(signer) == FUNDS, "the citizen paid nothing"
    own = signer.account.client.get("/v1/me/usage").json()["items"]
    sponsored = [e for e in own if e["paid_by"] == portal.name]
    assert [e["amount"] for e in sponsored] == [0, 0]
    history = WebClient(server)
    history.sign_in(signer.account.email, signer.account.password)
    listed = history.http.get("/me/signatures").text
    assert listed.count(f"trả bởi {portal.name}") == 2
    # a second press signs nothing more
    replay = history.http.post(f"/signing-requests/{created['id']}",
                               data={"csrf": history.form_token("/sign"), "pin": PIN})  # fmt: skip
    assert replay.status_code == 303
    assert len(_signature_charges(billing, portal.organisation_id)) == 2
    _nothing_secret_reached_the_portal(portal, signer)


def _user_id(signer: Signer) -> str:
    user_id: str = signer.account.client.get("/v1/me").json()["id"]
    return user_id


def _qr_on_desktop(browser: Browser, server: KysoServer, signer: Signer, url: str) -> str:
    """The desktop shows the QR code of the sign URL; the test reads it as a phone would."""
    desktop = browser.new_context(viewport=DESKTOP, locale="vi-VN", base_url=server.url)
    page = desktop.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(signer.account.email)
    page.get_by_label("Mật khẩu").fill(signer.account.password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/me*")
    page.goto(url)
    expect(page.locator("#sign-qr")).to_be_visible()
    screenshot(page, "signing-request/desktop")
    source = page.locator("#sign-qr").get_attribute("src") or ""
    desktop.close()
    png = base64.b64decode(source.split(",", 1)[1])
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    text: str = found.text
    return text


def _nothing_secret_reached_the_portal(portal: Portal, signer: Signer) -> None:
    seen = b"".join(
        f"{method} {path} {headers}".encode() + body
        for method, path, headers, body in portal.app.received
    )
    assert portal.app.received, "the portal heard nothing"
    for secret in (PIN, signer.account.password):
        assert secret.encode() not in seen, "a PIN or password reached the portal"


def _web(server: KysoServer, account: Account) -> WebClient:
    client = WebClient(server)
    client.sign_in(account.email, account.password)
    return client


def test_declined_expired_and_replayed_requests_sign_and_charge_nothing(
    server: KysoServer, portal: Portal, billing: Account
) -> None:
    (signer,) = make_signers(server, 1)
    charged_before = len(_signature_charges(billing, portal.organisation_id))
    web = _web(server, signer.account)
    declined = portal.ask(server, signer.account).json()
    token = web.form_token(f"/signing-requests/{declined['id']}")
    answer = web.http.post(f"/signing-requests/{declined['id']}/decline", data={"csrf": token})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"?id={declined['id']}&status=declined")
    assert portal.app.hook_for(declined["id"])["status"] == "declined"
    late = web.http.post(f"/signing-requests/{declined['id']}", data={"csrf": token, "pin": PIN})
    assert late.status_code == 303  # back to the page, which says it was declined
    assert web.http.get(f"/signing-requests/{declined['id']}").status_code == 409

    expiring = portal.ask(server, signer.account, expires_in="1").json()
    time.sleep(1.5)
    page = web.http.get(f"/signing-requests/{expiring['id']}")
    assert page.status_code == 409
    assert "hết hạn" in page.text
    web.http.post(f"/signing-requests/{expiring['id']}", data={"csrf": token, "pin": PIN})
    assert portal.app.hook_for(expiring["id"])["status"] == "expired"
    polled = httpx.get(f"{server.url}/v1/signing-requests/{expiring['id']}", auth=portal.auth)
    assert (polled.json()["status"], polled.json()["signed_documents"]) == ("expired", [])

    for request in (declined, expiring):
        document = httpx.get(f"{server.url}/v1/signing-requests/{request['id']}/documents/1",
                             auth=portal.auth)  # fmt: skip
        assert document.status_code == 404
    assert signer.account.client.get("/v1/signatures").json() == []
    assert len(_signature_charges(billing, portal.organisation_id)) == charged_before
    assert _balance(signer) == FUNDS


def test_a_citizen_who_cannot_sign_is_told_and_the_portal_sees_failed(
    server: KysoServer, portal: Portal
) -> None:
    unproofed = register_citizen(server)
    asked = portal.ask(server, unproofed).json()
    web = _web(server, unproofed)
    page = web.http.get(f"/signing-requests/{asked['id']}")
    assert page.status_code == 409
    assert "chưa được xác minh" in page.text
    polled = httpx.get(f"{server.url}/v1/signing-requests/{asked['id']}", auth=portal.auth)
    assert (polled.json()["status"], polled.json()["reason"]) == (
        "failed",
        "identity.level_too_low",
    )
    assert portal.app.hook_for(asked["id"])["reason"] == "identity.level_too_low"

    (locked,) = make_signers(server, 1)
    for _ in range(5):
        locked.account.client.post("/v1/signatures", data={"pin": "999999"},
                                   files={"file": ("x.pdf", simple_pdf(), "application/pdf")})  # fmt: skip
    asked = portal.ask(server, locked.account).json()
    page = _web(server, locked.account).http.get(f"/signing-requests/{asked['id']}")
    assert page.status_code == 409
    assert "PUK" in page.text
    polled = httpx.get(f"{server.url}/v1/signing-requests/{asked['id']}", auth=portal.auth)
    assert (polled.json()["status"], polled.json()["reason"]) == ("failed", "credential.locked")


def test_who_may_ask_read_and_open_a_signing_request(
    server: KysoServer, portal: Portal, app: PortalApp
) -> None:
    """The authorisation matrix of the new routes and pages."""
    owner, other = make_signers(server, 2, funds=0)
    asked = portal.ask(server, owner.account, payer="citizen").json()
    rid = asked["id"]
    stranger = make_portal(server, app, sponsor=False)
    plain = json.loads(server.cli("admin", "oidc-client", "add", "--name", "RP thường",
                                  "--redirect-uri", f"{app.url}/back").stdout)  # fmt: skip
    base = f"{server.url}/v1/signing-requests"

    def status_of(response: httpx.Response) -> int:
        return response.status_code

    assert status_of(portal.ask(server, owner.account, payer="citizen")) == 201
    member = staff(server, "agency_officer", organisation=portal.name)  # the paying organisation
    key = member.client.post("/v1/api-keys", json={"name": "cổng", "roles": ["agency_officer"]})
    by_key = httpx.post(base, headers={"X-API-Key": key.json()["key"]},
                        data={"cccd": _cccd(owner.account), "purpose": "Tờ khai",
                              "return_url": f"{app.url}/back", "payer": "sponsor"},
                        files={"file": ("a.pdf", simple_pdf(), "application/pdf")})  # fmt: skip
    assert by_key.status_code == 201, by_key.text
    outsider = staff(server, "agency_officer")  # an API key of no portal's organisation
    key = outsider.client.post("/v1/api-keys", json={"name": "x", "roles": ["agency_officer"]})
    assert status_of(httpx.get(f"{base}/{rid}", headers={"X-API-Key": key.json()["key"]})) == 403
    assert status_of(httpx.post(base, data={"purpose": "x", "return_url": "x"},
                                files={"file": ("a.pdf", simple_pdf())})) == 401  # fmt: skip
    wrong = Portal(portal.client_id, "sai", portal.name, "", app)
    assert status_of(wrong.ask(server, owner.account)) == 401
    not_a_portal = Portal(plain["client_id"], plain["client_secret"], "", "", app)
    assert status_of(not_a_portal.ask(server, owner.account)) == 403
    citizen_token = owner.account.client.post(base, data={"purpose": "x", "return_url": "x"},
                                              files={"file": ("a.pdf", simple_pdf())})  # fmt: skip
    assert citizen_token.status_code == 403
    assert status_of(stranger.ask(server, owner.account)) == 422  # no paying organisation
    assert status_of(portal.ask(server, owner.account, return_url="https://evil.example/")) == 422
    assert status_of(portal.ask(server, owner.account, webhook_url="http://127.0.0.1:9/x")) == 422
    assert status_of(httpx.get(f"{base}/{rid}", auth=portal.auth)) == 200
    assert status_of(httpx.get(f"{base}/{rid}", auth=stranger.auth)) == 404
    assert status_of(httpx.get(f"{base}/{rid}")) == 401
    assert status_of(httpx.get(f"{base}/{rid}/documents/1", auth=stranger.auth)) == 404
    assert status_of(httpx.get(f"{base}/{rid}/documents/1", auth=portal.auth)) == 404  # pending
    anonymous = httpx.get(f"{server.url}/signing-requests/{rid}")
    assert anonymous.status_code == 303
    assert "/login" in anonymous.headers["location"]
    someone_else = _web(server, other.account)
    assert someone_else.http.get(f"/signing-requests/{rid}").status_code == 404
    assert someone_else.http.get(f"/signing-requests/{rid}/documents/1/pages/1.png"
                                 ).status_code == 404  # fmt: skip
    officer = _web(server, staff(server, "registration_officer"))
    assert officer.http.get(f"/signing-requests/{rid}").status_code == 403
    mine = _web(server, owner.account)
    assert mine.http.get(f"/signing-requests/{rid}").status_code == 200
    assert mine.http.get(f"/signing-requests/{rid}/documents/2/pages/1.png").status_code == 200


@pytest.mark.timeout(1800)
def test_schemathesis_over_the_signing_request_routes_as_a_portal(
    server: KysoServer, portal: Portal
) -> None:
    """Requests generated from the schema, sent with the portal's credentials: anything but a
    server error."""
    spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    every = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in every if op.path.startswith("/v1/signing-requests")]
    assert len(operations) == 3
    basic = base64.b64encode(f"{portal.client_id}:{portal.secret}".encode()).decode()
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:

            @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy())
            def call(case: schemathesis.Case) -> None:
                response = case.call(base_url=server.url, session=session, timeout=60,
                                     headers={"Authorization": f"Basic {basic}"})  # fmt: skip
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} {response.text[:200]}")  # fmt: skip

            call()
    assert not failures, failures
