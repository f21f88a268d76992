"""What every web page needs from its request: the language, the signed-in person, the
form token; and the responses they give (pages with security headers, redirects)."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.bootstrap import Runtime
from api.errors import answer_for
from api.identity_services import IdentityServices
from api.metrics import REFUSALS
from api.same_origin import foreign_post
from api.usecases.services import Services
from api.usecases.sign_in import resume_web_session
from api.web.render import render_page
from api.web.words import Language, explain, explain_field, language_from_header, translate
from identity.models import User, WebSession
from identity.sessions import Principal
from kernel.errors import KysoError

__all__ = [
    "ANCHOR_COOKIE",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "FormRefused",
    "NotAllowed",
    "SignInNeeded",
    "Web",
    "WebCaller",
    "WebRoute",
    "cookie_name",
]

SESSION_COOKIE = "kyso_session"
ANCHOR_COOKIE = "kyso_browser"
"""A random value per browser, signed by the server and set at its first page: forms shown
before sign-in are bound to it. (Cookie names get ``__Host-`` under https: ``cookie_name``.)"""
LANG_COOKIE = "kyso_lang"
FLASH_COOKIE = "kyso_flash"
"""What a redirect after a form tells the next page ("saved", or why not), signed."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class WebRoute(APIRoute):
    """A page's route: a refusal the page did not explain itself is shown as a page in words,
    with its HTTP status (never as the API's problem+json)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except KysoError as exc:
                return await run_in_threadpool(_refusal_page, request, exc)
            except RequestValidationError:
                return await run_in_threadpool(_refusal_page, request, None)

        return handler


def _refusal_page(request: Request, exc: Exception | None) -> Response:
    web = Web.of(request)
    if exc is None:  # a field too long, a number that is not one: not from our own forms
        status, words = 422, web.t("Dữ liệu gửi lên không hợp lệ. Hãy mở lại trang và thử lại.")
    else:
        status, words = web.explain(exc)
    return web.page(
        "message.html",
        status=status,
        title=web.t("Không thực hiện được"),
        heading=web.t("Không thực hiện được"),
        body=words,
        link=("/", web.t("Trang chính")),
    )


class SignInNeeded(Exception):
    """The page needs a signed-in person: answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str, *, expired: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired
        """The browser had a session that has ended (idle, too old): the sign-in page says so."""


class NotAllowed(Exception):
    """The signed-in person's role may not see this page (answered 403, in words)."""


class FormRefused(Exception):
    """A form without a valid form token, or posted from another site (answered 403)."""


@dataclass(frozen=True)
class WebCaller:
    user: User
    session: WebSession
    token: str

    @property
    def principal(self) -> Principal:
        """The same caller the REST routes know, signed in through the browser."""
        return Principal(
            user=self.user,
            roles=frozenset({self.user.role}),
            identity_level=self.user.identity_level,
            amr=tuple(self.session.amr.split(",")),
            via="web",
        )


@dataclass
class Web:
    """One web request's view of the person behind it."""

    request: Request
    services: Services
    lang: Language
    anchor: str
    caller: WebCaller | None
    new_anchor: bool = False
    cookies: list[tuple[str, str, int | None]] = field(default_factory=list)
    flashed: tuple[str, str] | None = None
    """(kind, words) carried over a redirect: ``ok`` or ``error``."""
    """Cookies to set on the response: name, value, max-age (None: for the browser session)."""

    @property
    def runtime(self) -> Runtime:
        return self.services.runtime

    @property
    def identity(self) -> IdentityServices:
        return self.services.identity

    @classmethod
    def of(cls, request: Request) -> Web:
        services: Services = request.app.state.services
        cookies = _Cookies(request, secure=_secure(services.runtime, request))
        chosen = cookies.get(LANG_COOKIE)
        lang: Language = language_from_header(request.headers.get("accept-language"))
        if chosen == "en":
            lang = "en"
        elif chosen == "vi":
            lang = "vi"
        anchor = cookies.get(ANCHOR_COOKIE)
        new_anchor = not _anchor_valid(services.identity, anchor)
        if new_anchor:
            anchor = _mint_anchor(services.identity)
        web = cls(request, services, lang, anchor, None, new_anchor)
        web.flashed = web._read_flash(cookies.get(FLASH_COOKIE))
        token = cookies.get(SESSION_COOKIE)
        if token:
            web.caller = web._resume(token)
        return web

    def _resume(self, token: str) -> WebCaller | None:
        found = resume_web_session(self.services, token)
        if found is None:
            return None
        record, user = found
        return WebCaller(user, record, token)

    def _read_flash(self, value: str) -> tuple[str, str] | None:
        body, _, mac = value.rpartition(".")
        if not body or not hmac.compare_digest(self.identity.web.mac("flash", body), mac):
            return None
        try:
            kind, words = json.loads(base64.urlsafe_b64decode(body.encode()))
        except (ValueError, TypeError):
            return None
        self.set_cookie(FLASH_COOKIE, "", 0)  # shown once
        return str(kind), str(words)

    def flash(self, words: str, *, kind: str = "ok") -> None:
        """Tell the page the next redirect leads to."""
        body = base64.urlsafe_b64encode(json.dumps([kind, words[:600]]).encode()).decode()
        self.set_cookie(FLASH_COOKIE, f"{body}.{self.identity.web.mac('flash', body)}", 120)

    def done(self, path: str, words: str, *, kind: str = "ok") -> Response:
        """After a form changed something: a redirect (a reload repeats nothing) that says so."""
        self.flash(words, kind=kind)
        return self.redirect(path)

    # -- words -------------------------------------------------------------------------
    def t(self, text: str, **values: Any) -> str:
        """A Vietnamese phrase in the page's language, with ``{name}`` values filled in."""
        return translate(text, self.lang, **values)

    def explain(self, exc: Exception) -> tuple[int, str]:
        """A refusal's HTTP status and its words for this reader."""
        status = answer_for(exc).status if isinstance(exc, KysoError) else 500
        code = str(getattr(exc, "code", "error"))
        REFUSALS.labels(code).inc()
        detail = str(getattr(exc, "detail", "") or exc)
        if status >= 500 and code not in ("signing.tsa_unavailable",):
            return status, self.t("Đã có lỗi phía dịch vụ. Bạn chưa bị trừ tiền; hãy thử lại sau.")
        errors = getattr(exc, "errors", None)
        if isinstance(errors, dict) and errors:  # a form's fields: what is wrong with each
            return status, " ".join(explain_field(f, str(m), self.lang) for f, m in errors.items())
        fields = getattr(exc, "fields", None)
        return status, explain(
            code, detail, self.lang, fields if isinstance(fields, dict) else None
        )

    # -- who ---------------------------------------------------------------------------
    def require(self, *roles: str, back_to: str | None = None) -> WebCaller:
        """The signed-in person, who must hold one of ``roles`` (any role when none given);
        without one, sign-in first and then ``back_to`` (a form's page with its choices) or
        this page."""
        if self.caller is None:
            url = self.request.url
            here = url.path + (f"?{url.query}" if url.query else "")
            expired = bool(self.request.cookies.get(SESSION_COOKIE))
            raise SignInNeeded(back_to or here, expired=expired)
        if roles and self.caller.user.role not in roles:
            raise NotAllowed(self.caller.user.role)
        return self.caller

    # -- forms -------------------------------------------------------------------------
    @property
    def form_anchor(self) -> str:
        return self.anchor + "|" + (self.caller.token if self.caller else "")

    @property
    def csrf(self) -> str:
        return self.identity.web.form_token(self.form_anchor)

    def check_form(self, presented: str | None) -> None:
        """Refuse a form that did not come from our own page in this browser."""
        if foreign_post(self.request.headers, self.own_origin):
            raise FormRefused("origin")
        if self.new_anchor or not self.identity.web.form_token_valid(self.form_anchor, presented):
            raise FormRefused("token")

    @property
    def own_origin(self) -> str:
        return self.runtime.settings.public_url or str(self.request.base_url)

    @property
    def secure(self) -> bool:
        return _secure(self.runtime, self.request)

    # -- responses ---------------------------------------------------------------------
    def page(self, template: str, *, status: int = 200, title: str = "", **values: Any) -> Response:
        html = render_page(template, web=self, title=title, **values)
        return self.finish(HTMLResponse(html, status_code=status))

    def redirect(self, path: str) -> Response:
        return self.finish(RedirectResponse(_local(path), status_code=303))

    def page_picture(self, png: bytes) -> Response:
        """A picture of one of the caller's own pages: private, kept an hour by the browser."""
        headers = {"Cache-Control": "private, max-age=3600"}
        return self.finish(Response(png, media_type="image/png", headers=headers))

    def finish(self, response: Response) -> Response:
        """Security headers and pending cookies on any web response."""
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers.setdefault("Cache-Control", "no-store")
        if self.new_anchor:
            self.set_cookie(ANCHOR_COOKIE, self.anchor, 60 * 60 * 24 * 400)
        for name, value, max_age in self.cookies:
            response.set_cookie(
                cookie_name(name, secure=self.secure),
                value,
                max_age=max_age,
                path="/",
                httponly=True,
                secure=self.secure,
                samesite="lax",
            )
        return response

    def set_cookie(self, name: str, value: str, max_age: int | None) -> None:
        self.cookies.append((name, value, max_age))

    def login_url(self, next_path: str, *, expired: bool = False) -> str:
        return "/login?next=" + quote(_local(next_path), safe="/") + ("&expired=1" * expired)


def _secure(runtime: Runtime, request: Request) -> bool:
    """Served over https (the public URL, or the request when none is set)."""
    return (runtime.settings.public_url or str(request.base_url)).startswith("https://")


def cookie_name(name: str, *, secure: bool) -> str:
    """Under https every cookie is a ``__Host-`` cookie: Secure, for this host only, path /,
    so neither plain http nor another host of the domain can plant or replace it."""
    return f"__Host-{name}" if secure else name


@dataclass(frozen=True)
class _Cookies:
    """The request's cookies by their plain names (only the ``__Host-`` ones under https: a
    cookie of the old name, which anyone on the domain could have set, is ignored)."""

    request: Request
    secure: bool

    def get(self, name: str) -> str:
        return self.request.cookies.get(cookie_name(name, secure=self.secure), "")


def _mint_anchor(identity: IdentityServices) -> str:
    """A fresh browser anchor, signed: the server accepts only anchors it made."""
    value = secrets.token_urlsafe(32)
    return f"{value}.{identity.web.mac('anchor', value)}"


def _anchor_valid(identity: IdentityServices, anchor: str) -> bool:
    value, _, mac = anchor.rpartition(".")
    return len(value) >= 32 and hmac.compare_digest(identity.web.mac("anchor", value), mac)


def _local(path: str) -> str:
    """Only paths on this site: never an open redirect to another."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
