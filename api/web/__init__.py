"""The web pages people use: server-rendered, Vietnamese first, little JavaScript."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.web import admin_pages, agency, billing_pages, citizen, officer, public
from api.web.context import FormRefused, NotAllowed, SignInNeeded, Web

__all__ = ["install_web"]

STATIC = Path(__file__).parent / "static"


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    web = Web.of(request)
    return web.redirect(web.login_url(exc.next_path))


async def _not_allowed(request: Request, _exc: Exception) -> Response:
    web = Web.of(request)
    return web.page(
        "message.html",
        status=403,
        title=web.t("Không được phép"),
        heading=web.t("Trang này không dành cho vai trò của bạn"),
        body=web.t("Hãy quay về trang chính của bạn."),
        link=("/", web.t("Trang chính")),
    )


async def _form_refused(request: Request, _exc: Exception) -> Response:
    web = Web.of(request)
    return web.page(
        "message.html",
        status=403,
        title=web.t("Biểu mẫu hết hạn"),
        heading=web.t("Biểu mẫu đã hết hạn"),
        body=web.t(
            "Vì an toàn, biểu mẫu này không còn dùng được (có thể phiên đăng nhập đã hết hạn). "
            "Hãy mở lại trang và thử lại."
        ),
        link=(request.url.path if request.method == "GET" else "/", web.t("Mở lại")),
    )


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (public, citizen, officer, agency, billing_pages, admin_pages):
        app.include_router(module.router)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(NotAllowed, _not_allowed)
    app.add_exception_handler(FormRefused, _form_refused)
