"""``/docs`` renders the API's operations in Chromium with every host but the server blocked,
under its Content-Security-Policy; ``/redoc`` too."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.support.browser import screenshot
from tests.support.server import KysoServer

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone


def _offline_page(browser: Browser, server: KysoServer) -> tuple[Page, list[str], list[str]]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    ours = urlsplit(server.url).netloc
    blocked: list[str] = []

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, blocked, problems


def test_swagger_ui_shows_the_operations_offline(browser: Browser, server: KysoServer) -> None:
    page, blocked, problems = _offline_page(browser, server)
    answer = page.goto("/docs")
    assert answer is not None
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    expect(page.locator(".opblock-summary-path", has_text="/v1/signatures").first).to_be_visible()
    assert page.locator(".opblock").count() > 50
    assert "OAS 3.1" in page.locator(".info").inner_text()  # Swagger UI 5 read OpenAPI 3.1
    screenshot(page, "docs/swagger-ui-offline")
    assert blocked == []
    assert problems == []
    page.context.close()


def test_redoc_shows_the_operations_offline(browser: Browser, server: KysoServer) -> None:
    page, blocked, _ = _offline_page(browser, server)
    page.goto("/redoc")
    expect(page.get_by_text("/v1/signatures").first).to_be_attached(timeout=30_000)
    screenshot(page, "docs/redoc-offline")
    # only ReDoc's "powered by" logo is fetched from elsewhere; the page works without it
    assert [u for u in blocked if not u.endswith("/logo-mini.svg")] == []
    page.context.close()
