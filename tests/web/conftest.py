"""A headless Chromium per test module; a fresh browser context (cookies) per person.

Not per session: Playwright's synchronous API keeps an event loop running in this thread
while it is open, and later tests that call ``asyncio.run`` (pyHanko's validator) would fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
