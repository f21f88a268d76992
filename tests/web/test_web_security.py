"""The web pages' defences, over a running server: every page admits exactly its roles,
forms need their token and our own origin, cookies are HttpOnly and SameSite (and Secure
behind https), pages forbid framing and inline script, sign-out ends the session, what
people typed is escaped, and sign-in is rate-limited per client."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from api.web import (
    admin_pages,
    agency,
    billing_pages,
    citizen,
    citizen_invoices,
    credential_reset,
    csc_consent,
    officer,
    public,
    statement_pages,
)
from tests.support.api import PASSWORD, new_cccd, register_citizen, staff
from tests.support.databases import fresh_database
from tests.support.server import KysoServer
from tests.support.web import WebClient

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

ANYONE = "anyone"
CITIZEN, OFFICER, AGENCY, BILLING, ADMIN = (
    "citizen",
    "registration_officer",
    "agency_officer",
    "billing_staff",
    "admin",
)
ROLES = (CITIZEN, OFFICER, AGENCY, BILLING, ADMIN)
UNKNOWN = "00000000-0000-0000-0000-000000000000"

# (method, path) -> who may use it. Paths with {…} are tried with an id nobody owns.
POLICY: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/"): (ANYONE,),
    ("GET", "/language/{lang}"): (ANYONE,),
    ("GET", "/login"): (ANYONE,),
    ("POST", "/login"): (ANYONE,),
    ("POST", "/logout"): (ANYONE,),
    ("GET", "/register"): (ANYONE,),
    ("POST", "/register"): (ANYONE,),
    ("GET", "/me"): (CITIZEN,),
    ("GET", "/me/certificate"): (CITIZEN,),
    ("POST", "/me/certificate"): (CITIZEN,),
    ("POST", "/me/certificate/unlock"): (CITIZEN,),
    ("GET", "/me/signatures"): (CITIZEN,),
    ("GET", "/me/signatures/{signature_id}"): (CITIZEN,),
    ("GET", "/me/signatures/{signature_id}/document"): (CITIZEN,),
    ("GET", "/me/wallet"): (CITIZEN,),
    ("GET", "/csc/v2/oauth2/authorize"): (CITIZEN,),
    ("POST", "/csc/v2/oauth2/authorize"): (CITIZEN,),
    ("GET", "/me/invoices"): (CITIZEN,),
    ("GET", "/me/certificate/reset"): (CITIZEN,),
    ("POST", "/me/certificate/reset"): (CITIZEN,),
    ("GET", "/me/invoices/{invoice_id}/pdf"): (CITIZEN,),
    ("GET", "/sign"): (CITIZEN,),
    ("POST", "/sign"): (CITIZEN,),
    ("GET", "/sign/{draft_id}"): (CITIZEN,),
    ("POST", "/sign/{draft_id}"): (CITIZEN,),
    ("GET", "/sign/{draft_id}/pages/{page}.png"): (CITIZEN,),
    ("GET", "/officer/registrations"): (OFFICER,),
    ("POST", "/officer/registrations/{user_id}"): (OFFICER,),
    ("POST", "/officer/registrations/{user_id}/reject"): (OFFICER,),
    ("POST", "/officer/resets/{request_id}"): (OFFICER,),
    ("GET", "/verify"): (AGENCY, ADMIN, CITIZEN),
    ("POST", "/verify"): (AGENCY, ADMIN, CITIZEN),
    ("GET", "/verify/batch/{batch}"): (AGENCY, ADMIN, CITIZEN),
    ("GET", "/verify/{report_id}"): (AGENCY, ADMIN, CITIZEN),
    ("GET", "/verify/{report_id}/report.pdf"): (AGENCY, ADMIN, CITIZEN),
    ("GET", "/billing"): (BILLING, ADMIN),
    ("GET", "/billing/export/usage.csv"): (BILLING, ADMIN),
    ("GET", "/billing/export/report.csv"): (BILLING, ADMIN),
    ("GET", "/billing/invoices"): (BILLING, ADMIN),
    ("POST", "/billing/periods/close"): (BILLING, ADMIN),
    ("GET", "/billing/invoices/{invoice_id}"): (BILLING, ADMIN),
    ("GET", "/billing/invoices/{invoice_id}/pdf"): (BILLING, ADMIN),
    ("POST", "/billing/invoices/{invoice_id}/credit-notes"): (BILLING, ADMIN),
    ("GET", "/billing/top-ups"): (BILLING, ADMIN),
    ("POST", "/billing/top-ups"): (BILLING, ADMIN),
    ("GET", "/billing/statements"): (BILLING, ADMIN),
    ("POST", "/billing/statements"): (BILLING, ADMIN),
    ("GET", "/admin"): (ADMIN,),
    ("GET", "/admin/trust"): (ADMIN,),
    ("POST", "/admin/trust"): (ADMIN,),
    ("POST", "/admin/trust/{sha256}/remove"): (ADMIN,),
    ("GET", "/admin/plans"): (ADMIN,),
    ("POST", "/admin/plans"): (ADMIN,),
    ("GET", "/admin/staff"): (ADMIN,),
    ("POST", "/admin/staff"): (ADMIN,),
    ("GET", "/admin/certificates"): (ADMIN,),
    ("POST", "/admin/certificates/{serial}/revoke"): (ADMIN,),
    ("GET", "/admin/audit"): (ADMIN,),
    ("GET", "/admin/oidc-clients"): (ADMIN,),
    ("POST", "/admin/oidc-clients/{client_id}/rotate-secret"): (ADMIN,),
    ("POST", "/admin/oidc-clients/{client_id}/remove"): (ADMIN,),
}


def _web_routes() -> set[tuple[str, str]]:
    found = set()
    for module in (public, citizen, citizen_invoices, credential_reset, csc_consent, officer,
                   agency, billing_pages, statement_pages, admin_pages):  # fmt: skip
        for route in module.router.routes:
            for method in route.methods - {"HEAD"}:  # type: ignore[attr-defined]
                found.add((method, route.path))  # type: ignore[attr-defined]
    return found


def test_every_web_page_has_a_policy() -> None:
    assert _web_routes() == set(POLICY)


@pytest.fixture(scope="module")
def people(server: KysoServer) -> dict[str, WebClient]:
    """One signed-in browser per role."""
    signed_in = {}
    citizen_account = register_citizen(server)
    accounts = {CITIZEN: citizen_account} | {r: staff(server, r) for r in ROLES if r != CITIZEN}
    for role, account in accounts.items():
        client = WebClient(server)
        client.sign_in(account.email, account.password)
        signed_in[role] = client
    return signed_in


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0) == "{page}" else UNKNOWN, path)


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, v in POLICY.items() if ANYONE not in v)
)
def test_page_admits_exactly_its_roles(
    server: KysoServer, people: dict[str, WebClient], method: str, path: str
) -> None:
    allowed = POLICY[(method, path)]
    url = _concrete(path)
    anonymous = httpx.request(method, server.url + url, follow_redirects=False, timeout=30)
    assert anonymous.status_code == 303, (url, anonymous.status_code)
    assert anonymous.headers["location"].startswith("/login?next=")
    for role, client in people.items():
        answer = client.http.request(method, url, data={"csrf": "x"} if method == "POST" else None)
        if role in allowed:
            assert answer.status_code not in (303, 403) or (
                answer.status_code == 403 and "Biểu mẫu" in answer.text  # its form token
            ), (role, url, answer.status_code)
        else:
            assert answer.status_code == 403, (role, url, answer.status_code)
            assert "không dành cho vai trò của bạn" in answer.text


def test_pages_forbid_framing_and_inline_script_and_cookies_are_httponly_samesite(
    server: KysoServer,
) -> None:
    page = httpx.get(f"{server.url}/login", timeout=30)
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("kyso_browser=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain-http localhost: a browser would not send it back
    assert "<script" not in page.text or 'src="/static/' in page.text


def test_forms_need_their_token_from_this_browser_and_our_origin(server: KysoServer) -> None:
    account = register_citizen(server)
    mine, theirs = WebClient(server), WebClient(server)
    theirs_token = theirs.form_token("/login")
    credentials = {"email": account.email, "password": account.password}
    for data, headers in (
        (credentials, {}),  # no token
        ({**credentials, "csrf": "0" * 64}, {}),  # a made-up token
        ({**credentials, "csrf": theirs_token}, {}),  # another browser's token
    ):
        mine.form_token("/login")
        refused = mine.http.post("/login", data=data, headers=headers)
        assert refused.status_code == 403, refused.status_code
        assert "kyso_session" not in mine.http.cookies
    good = mine.form_token("/login")
    forged = mine.http.post(
        "/login", data={**credentials, "csrf": good}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert (
        mine.http.post(
            "/login", data={**credentials, "csrf": good}, headers={"Origin": server.url}
        ).status_code
        == 303
    )
    # signed in, a form token from before sign-in no longer works
    stale = mine.http.post(
        "/me/certificate", data={"csrf": good, "pin": "123456", "pin_again": "123456"}
    )
    assert stale.status_code == 403


def test_the_session_cookie_is_httponly_and_sign_out_ends_it(server: KysoServer) -> None:
    account = register_citizen(server)
    client = WebClient(server)
    signed_in = client.sign_in(account.email, account.password)
    cookie = [c for c in signed_in.headers.get_list("set-cookie") if c.startswith("kyso_session=")]
    assert cookie
    assert "HttpOnly" in cookie[0]
    assert "SameSite=lax" in cookie[0]
    session = client.http.cookies["kyso_session"]
    assert client.http.get("/me").status_code == 200
    out = client.post_form("/logout", {}, token_from="/me")
    assert out.status_code == 303
    replayed = httpx.get(f"{server.url}/me", cookies={"kyso_session": session}, timeout=30)
    assert replayed.status_code == 303
    # a cookie whose session has ended is told so (a browser that signed out has no cookie)
    assert replayed.headers["location"] == "/login?next=/me&expired=1"


def test_what_people_type_is_shown_as_text_never_as_markup(server: KysoServer) -> None:
    hostile = "<img src=x onerror=alert(document.cookie)>"
    # a name is letters only ...
    refused = httpx.post(f"{server.url}/v1/auth/register", timeout=30, json={
        "full_name": f"Mai {hostile}", "cccd": new_cccd(date(1990, 5, 17), male=False),
        "date_of_birth": "1990-05-17", "gender": "female",
        "email": f"x-{secrets.token_hex(3)}@example.vn", "phone": "0912345678",
        "password": PASSWORD,
    })  # fmt: skip
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["full_name"]
    # ... and a file's name, shown on its report, is text
    agency_account = staff(server, AGENCY)
    client = WebClient(server)
    client.sign_in(agency_account.email, agency_account.password)
    token = client.form_token("/verify")
    uploaded = client.http.post("/verify", data={"csrf": token},
                                files={"files": (f"{hostile}.pdf", b"not a pdf", "application/pdf")})  # fmt: skip
    assert uploaded.status_code == 303
    report = client.http.get(uploaded.headers["location"]).text
    assert "&lt;img src=x onerror=alert(document.cookie)&gt;.pdf" in report
    assert "<img src=x" not in report


@pytest.fixture
def lone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A server of its own (SQLite), for tests that change what the whole server remembers."""
    directory = tmp_path_factory.mktemp("lone")
    with fresh_database("sqlite", directory) as url:
        running = KysoServer(
            data_dir=directory / "kyso-data",
            database_url=url,
            extra_env={
                "KYSO_PUBLIC_URL": "https://kyso.example.vn",
                "KYSO_MAX_UPLOAD_MB": "1",
                "KYSO_LOGIN_SOURCE_FAILURES": "10",
            },
        ).start()
        try:
            yield running
        finally:
            running.stop()


def test_behind_https_cookies_are_secure_and_one_client_cannot_try_many_passwords(
    lone_server: KysoServer,
) -> None:
    page = httpx.get(f"{lone_server.url}/login", timeout=30)
    cookie = page.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    # A Secure cookie is not sent back over plain http: send it as a browser behind https would.
    anchor = cookie.split(";")[0]
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    headers = {"Origin": "https://kyso.example.vn", "Cookie": anchor}
    statuses = []
    for attempt in range(12):  # a different address each time: the per-address lock never trips
        answer = httpx.post(
            f"{lone_server.url}/login",
            headers=headers,
            timeout=30,
            data={
                "csrf": token,
                "email": f"guess{attempt}@example.vn",
                "password": "wrong password 1",
            },
        )
        statuses.append(answer.status_code)
    assert statuses[:10] == [400] * 10, statuses
    assert statuses[10:] == [429, 429], statuses
    assert "Vui lòng đợi" in answer.text
    # the API's token endpoint counts the same client ...
    guess = {"grant_type": "password", "username": "api@example.vn", "password": "wrong pw 12"}
    rest = httpx.post(f"{lone_server.url}/v1/auth/token", data=guess, timeout=30)
    assert (rest.status_code, rest.json()["code"]) == (429, "auth.throttled")
    # ... and another client (behind the proxy kyso trusts) is not slowed down by it
    other = httpx.post(f"{lone_server.url}/v1/auth/token", data=guess, timeout=30,
                       headers={"X-Forwarded-For": "198.51.100.7"})  # fmt: skip
    assert (other.status_code, other.json()["code"]) == (400, "auth.invalid_credentials")


def test_a_file_too_large_for_a_page_is_explained_in_words(lone_server: KysoServer) -> None:
    big = b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024)
    answer = httpx.post(
        f"{lone_server.url}/sign",
        timeout=30,
        files={"file": ("big.pdf", big)},
        headers={"Accept": "text/html,application/xhtml+xml"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "Tệp quá lớn" in answer.text
    assert "You have not been charged" in answer.text
    program = httpx.post(f"{lone_server.url}/sign", timeout=30, files={"file": ("big.pdf", big)})
    assert program.status_code == 413
    assert program.json()["code"] == "request.too_large"
