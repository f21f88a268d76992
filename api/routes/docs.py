"""The API's documentation pages, with nothing fetched from elsewhere.

Swagger UI 5 (it renders OpenAPI 3.1, which FastAPI writes) and ReDoc come from the
``fastapi-offline`` package's files, served here under ``/docs/assets``; FastAPI's own pages
load them from a CDN and stay blank offline. The Swagger UI page starts from a script of its
own (``/docs/start.js``), not an inline one, so that it keeps a strict Content-Security-Policy.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_POLICY", "install_docs"]

ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's bundle and stylesheet, ReDoc's script, as the package ships them."""

DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
"""The web pages' policy: Swagger UI sets styles through the DOM, which it allows."""

_START = """\
window.addEventListener("load", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    oauth2RedirectUrl: window.location.origin + root.getAttribute("data-redirect"),
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg">
</head>
<body>
<div id="swagger-ui" data-openapi="{root}{openapi}" data-redirect="{root}/docs/oauth2-redirect">
</div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/start.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI), ``/redoc`` and their files; the app is made with
    ``docs_url=None, redoc_url=None``."""
    title = html.escape(f"{app.title} - API")
    openapi = app.openapi_url or "/openapi.json"
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", ""))
        page = _PAGE.format(title=title, root=root, openapi=html.escape(openapi))
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_POLICY})

    @app.get("/docs/start.js", include_in_schema=False)
    def start() -> Response:
        return Response(_START, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=3600"})  # fmt: skip

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{openapi}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}/docs/assets/redoc.standalone.js",
                              redoc_favicon_url="/static/favicon.svg",
                              with_google_fonts=False)  # fmt: skip
