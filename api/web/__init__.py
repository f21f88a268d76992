"""The web pages people use: server-rendered, Vietnamese first, little JavaScript."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.usecases.services import Services
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
from api.web import signing_requests as signing_request_pages
from api.web.context import FormRefused, NotAllowed, SignInNeeded, Web
from api.web.drafts import DraftStore

__all__ = ["install_web", "purge_drafts"]

STATIC = Path(__file__).parent / "static"


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    web = Web.of(request)
    return web.redirect(web.login_url(exc.next_path, expired=exc.expired))


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


_API_PREFIXES = ("/v1/", "/csc/", "/pki/", "/oidc/", "/.well-known/", "/healthz", "/openapi")


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return "text/html" in request.headers.get("accept", "") and not path.startswith(_API_PREFIXES)


def _missing_page(request: Request, status: int) -> Response:
    web = Web.of(request)
    heading = (
        web.t("Không có trang này") if status == 404 else web.t("Không mở trang này theo cách đó")
    )
    return web.page("message.html", status=status, title=heading, heading=heading,
                    body=web.t("Đường dẫn có thể đã cũ hoặc gõ nhầm. "
                               "Hãy bắt đầu lại từ trang chính."),
                    link=("/", web.t("Trang chính")))  # fmt: skip


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        public,
        citizen,
        citizen_invoices,
        credential_reset,
        csc_consent,
        officer,
        agency,
        billing_pages,
        statement_pages,
        admin_pages,
        signing_request_pages,
    ):
        app.include_router(module.router)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(NotAllowed, _not_allowed)
    app.add_exception_handler(FormRefused, _form_refused)
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        """A browser lost on a wrong address gets a page; programs keep problem+json."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405) and _wants_page(request):
            return await run_in_threadpool(_missing_page, request, exc.status_code)
        answer: Response = await api_handler(request, exc)  # type: ignore[misc]
        return answer

    app.add_exception_handler(StarletteHTTPException, http_error)


def purge_drafts(services: Services) -> int:
    """Housekeeping: uploads left unsigned for an hour."""
    settings = services.runtime.settings
    return DraftStore(settings.data_dir / "drafts", max_pages=settings.max_pages).purge()
