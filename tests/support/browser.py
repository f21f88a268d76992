"""Debian's Chromium, driven by Playwright for Python (no browser is downloaded), and the
screenshots the web tests leave for people to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.server import require_tool

SCREENSHOTS = Path(
    os.environ.get("KYSO_SCREENSHOTS", Path(__file__).parents[2] / "artifacts" / "screenshots")
)
"""Where the pages' pictures go (``artifacts/screenshots`` in the checkout by default)."""

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
"""Without the background-networking flags Chromium keeps trying hosts this machine cannot
reach."""


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = require_tool("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    """A full-page picture of what the person sees now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
