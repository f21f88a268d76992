"""Issue 17 item 7: login CSRF in a real Chromium. A page on another port of the same host
plants the browser-anchor cookie (a value it chose, or one the server minted for the
attacker) and posts the sign-in form with the attacker's credentials and matching form token
through a redirect, which makes the browser send ``Origin: null``: the victim must not end up
signed in as the attacker, on the web pages or on the OpenID Connect sign-in form."""

from __future__ import annotations

import html
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser

from tests.support.api import register_citizen
from tests.support.server import KysoServer, own_server

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Lure:
    """What the attacker's page plants and posts."""

    cookie: str
    action: str
    fields: dict[str, str]


@pytest.fixture
def attacker_site() -> Iterator[tuple[str, list[Lure], list[str]]]:
    """The attacker's site on another port: ``/`` plants the cookie and posts the form to
    ``/bounce``, which answers 307 to kyso (the browser re-posts with ``Origin: null``)."""
    lures: list[Lure] = []
    origins: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            lure = lures[-1]
            inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                             for k, v in lure.fields.items())  # fmt: skip
            page = (f"<!doctype html><form id=f method=post action=/bounce>{inputs}</form>"
                    f"<script>document.cookie = {lure.cookie!r} + '; path=/';"
                    "document.getElementById('f').submit();</script>").encode()  # fmt: skip
            self._answer(200, page, {"Content-Type": "text/html"})

        def do_POST(self) -> None:
            origins.append(self.headers.get("Origin", ""))
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._answer(307, b"", {"Location": lures[-1].action})

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/", lures, origins
    finally:
        site.shutdown()
        site.server_close()


def _form_of(server: KysoServer, path: str, cookie: str | None) -> tuple[str, str]:
    """What the attacker gets from kyso for a browser anchor: (the anchor cookie, its token)."""
    headers = {"Cookie": cookie} if cookie else {}
    page = httpx.get(f"{server.url}{path}", headers=headers, timeout=30)
    match = _TOKEN.search(page.text)
    assert match, page.text[:300]
    minted = page.cookies.get("kyso_browser")
    return (f"kyso_browser={minted}" if minted else cookie or ""), match.group(1)


@pytest.mark.parametrize("anchor", ["chosen", "minted"])
def test_a_login_form_posted_from_another_site_does_not_sign_the_victim_in(
    server: KysoServer, browser: Browser, attacker_site: tuple[str, list[Lure], list[str]],
    anchor: str,
) -> None:  # fmt: skip
    lure_url, lures, origins = attacker_site
    attacker = register_citizen(server)
    chosen = "kyso_browser=" + "a" * 43 if anchor == "chosen" else None
    cookie, token = _form_of(server, "/login", chosen)
    lures.append(Lure(cookie, f"{server.url}/login", {
        "csrf": token, "email": attacker.email, "password": attacker.password, "next": "/me"}))  # fmt: skip
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(lure_url)
        page.wait_for_url(f"{server.url}/**")
        page.wait_for_load_state()
        assert origins == [lure_url.rstrip("/")], "the lure was posted from the attacker's page"
        names = {c["name"] for c in context.cookies()}
        assert "kyso_session" not in names, "the victim was signed in as the attacker"
        assert attacker.email not in page.content()
        me = page.goto(f"{server.url}/me")
        assert me is not None
        assert "/login" in page.url, "not signed in"
    finally:
        context.close()


def test_an_oidc_sign_in_posted_through_another_site_is_refused(server: KysoServer) -> None:
    """The OpenID Connect form checks the origin too (its own cookie and token are the
    attacker's to plant as well)."""
    for origin in ("null", "http://127.0.0.1:1"):
        answer = httpx.post(f"{server.url}/oidc/login", headers={"Origin": origin},
                            data={"request_id": "x", "csrf": "y"}, timeout=30)  # fmt: skip
        assert answer.status_code == 400
        assert "did not come from kyso" in answer.text
        consent = httpx.post(f"{server.url}/oidc/consent", headers={"Origin": origin},
                             data={"request_id": "x", "csrf": "y"}, timeout=30)  # fmt: skip
        assert "did not come from kyso" in consent.text


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "null"}, True),
        ({"Sec-Fetch-Site": "same-site"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, False),
        ({}, False),
    ],
)
def test_every_web_form_refuses_a_post_the_browser_says_came_from_elsewhere(
    server: KysoServer, headers: dict[str, str], refused: bool
) -> None:
    attacker = register_citizen(server)
    client = httpx.Client(base_url=server.url, timeout=30)
    token = _TOKEN.search(client.get("/register").text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", headers=headers, data={
        "csrf": token, "email": attacker.email, "password": attacker.password})  # fmt: skip
    assert (answer.status_code == 403) is refused, answer.status_code
    assert ("kyso_session" in client.cookies) is not refused


def test_a_browser_anchor_the_server_did_not_mint_is_replaced(server: KysoServer) -> None:
    chosen = "kyso_browser=" + "a" * 43
    page = httpx.get(f"{server.url}/login", headers={"Cookie": chosen}, timeout=30)
    assert page.cookies.get("kyso_browser") not in (None, chosen), "a new, signed anchor"
    token = _TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    attacker = register_citizen(server)
    answer = httpx.post(f"{server.url}/login", headers={"Cookie": chosen}, timeout=30, data={
        "csrf": token, "email": attacker.email, "password": attacker.password})  # fmt: skip
    assert answer.status_code == 403, "the planted value, kept, is no anchor"


@pytest.fixture(scope="module")
def behind_https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    public = {"KYSO_PUBLIC_URL": "https://kyso.example.vn"}
    with own_server("sqlite", tmp_path_factory.mktemp("https"), extra_env=public) as running:
        yield running


def test_under_https_cookies_are_host_cookies_and_the_old_names_are_ignored(
    behind_https: KysoServer,
) -> None:
    page = httpx.get(f"{behind_https.url}/login", timeout=30)
    anchor = page.headers["set-cookie"]
    assert anchor.startswith("__Host-kyso_browser=")
    assert "Secure" in anchor
    assert "Path=/" in anchor
    assert "Domain" not in anchor
    token = _TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    citizen = register_citizen(behind_https)
    signed_in = httpx.post(
        f"{behind_https.url}/login", timeout=30,
        headers={"Origin": "https://kyso.example.vn", "Cookie": anchor.split(";")[0]},
        data={"csrf": token, "email": citizen.email, "password": citizen.password},
    )  # fmt: skip
    assert signed_in.status_code == 303, signed_in.text[:300]
    session = signed_in.cookies.get("__Host-kyso_session")
    assert session
    me = f"{behind_https.url}/me"
    assert httpx.get(me, headers={"Cookie": f"__Host-kyso_session={session}"}).status_code == 200
    old_name = httpx.get(me, headers={"Cookie": f"kyso_session={session}"})
    assert old_name.status_code == 303, "a cookie anyone on the domain could set is not read"
    # a browser that still holds only old-named cookies is simply shown the sign-in form
    assert httpx.get(f"{behind_https.url}/login", headers={
        "Cookie": "kyso_browser=x; kyso_session=y; kyso_lang=en"}).status_code == 200  # fmt: skip
