"""A browser's side of the web pages without a browser: a cookie jar, the form token read
from the page, sign-in by the form."""

from __future__ import annotations

import re

import httpx

from tests.support.server import KysoServer

_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


class WebClient:
    def __init__(self, server: KysoServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)

    def form_token(self, path: str) -> str:
        page = self.http.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        match = _TOKEN.search(page.text)
        assert match, f"no form on {path}"
        return match.group(1)

    def post_form(
        self, path: str, data: dict[str, str], *, token_from: str | None = None, **extra: object
    ) -> httpx.Response:
        token = self.form_token(token_from or path)
        return self.http.post(path, data={"csrf": token, **data}, **extra)  # type: ignore[arg-type]

    def sign_in(self, email: str, password: str) -> httpx.Response:
        response = self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:500]
        assert "kyso_session" in self.http.cookies
        return response
