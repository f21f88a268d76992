"""The CSC v2 OAuth 2.0 authorization page (``/csc/v2/oauth2/authorize``): a portal asks, the
citizen (signed in on kyso's own site) sees which portal, which credential and how many hashes,
and types the PIN (and the one-time code) here, never on the portal. Yes sends the browser back
to the portal with a code; no, with ``access_denied``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from api.usecases import csc_oauth as flows
from api.usecases.csc_oauth import ConfirmGrant, Pending
from api.web.context import CONTENT_SECURITY_POLICY, Web, WebCaller, WebRoute
from api.web.public import WebDep
from identity.errors import OidcError
from identity.models import Role
from identity.oidc import with_query
from kernel.errors import KysoError

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)

PATH = "/csc/v2/oauth2/authorize"
FormText = Annotated[str, Form(max_length=8192)]


def _citizen(web: Web) -> WebCaller:
    return web.require(Role.CITIZEN.value)


def _to_portal(web: Web, url: str) -> Response:
    """A redirect to the portal (its registered redirect URI: not one of our paths)."""
    return web.finish(RedirectResponse(url, status_code=303))


def _refused(web: Web, error: OidcError, params: dict[str, str]) -> Response:
    """A wrong request: back to the portal with the error when it may be told, else a page."""
    if error.redirect:
        target = with_query(params["redirect_uri"], error=error.error,
                            error_description=error.detail, state=params.get("state"))  # fmt: skip
        return _to_portal(web, target)
    return web.page("message.html", status=400, title=web.t("Không thể cho phép ký"),
                    heading=web.t("Không thể cho phép ký"), body=error.detail,
                    link=("/", web.t("Trang chính")))  # fmt: skip


def _page(web: Web, found: Pending, query: str, *, error: str = "", status: int = 200) -> Response:
    user = _citizen(web).user
    response = web.page(
        "citizen/csc_authorize.html", status=status, title=web.t("Cho phép ký số"),
        request=found.request, credential=found.credential, query=query, error=error,
        ask_otp=user.totp_enabled,
    )  # fmt: skip
    parts = urlsplit(found.request.redirect_uri)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )  # the form's answer is a redirect to the portal
    return response


@router.get(PATH)
def authorize_page(web: WebDep) -> Response:
    citizen = _citizen(web)
    params = dict(web.request.query_params)
    try:
        found = flows.pending(web.services, params, citizen.user)
    except OidcError as error:
        return _refused(web, error, params)
    return _page(web, found, urlencode(params))


@router.post(PATH)
def authorize_answer(
    web: WebDep,
    csrf: FormText = "",
    query: FormText = "",
    decision: FormText = "",
    pin: Annotated[str, Form(max_length=64)] = "",
    otp: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    citizen = _citizen(web)
    web.check_form(csrf)
    params = dict(parse_qsl(query))
    try:
        if decision != "approve":
            return _to_portal(web, flows.decline(web.services, params, citizen.user))
        command = ConfirmGrant(params=params, user=citizen.user, pin=pin, otp=otp or None)
        return _to_portal(web, flows.confirm(web.services, command))
    except OidcError as error:
        return _refused(web, error, params)
    except KysoError as exc:  # a wrong PIN (counted), a locked credential, a missing code
        status, words = web.explain(exc)
        found = flows.pending(web.services, params, citizen.user)
        return _page(web, found, query, error=words, status=status)
