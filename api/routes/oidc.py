"""OpenID Connect provider over HTTP: discovery, JWKS, the authorization endpoint with its
sign-in and consent pages (Vietnamese first), the token endpoint, userinfo and RP-initiated
logout. The flows are the OpenID Connect use cases (``api/usecases/oidc.py``); this module
reads the requests and draws the pages. OAuth errors are a view of the one error table."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.bootstrap import Runtime
from api.deps import RuntimeDep, ServicesDep
from api.routes.client_credentials import basic_credentials
from api.same_origin import foreign_post
from api.usecases import oidc as flows
from api.usecases.oidc import SignInToAuthorize, TokenRequest
from api.web.oidc_pages import consent_page, login_page, message_page
from identity.errors import IdentityError, OidcError, OtpRequired, StepUpRequired, Throttled
from identity.oidc import ACR_VALUES, REQUEST_TTL, SCOPES, with_query

__all__ = ["router"]

router = APIRouter(tags=["openid connect"])

FormText = Annotated[str, Form(max_length=8192)]
OptionalFormText = Annotated[str | None, Form(max_length=8192)]


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
def discovery(runtime: RuntimeDep) -> dict[str, Any]:
    base = runtime.urls.base
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oidc/authorize",
        "token_endpoint": f"{base}/oidc/token",
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "jwks_uri": f"{base}/oidc/jwks",
        "end_session_endpoint": f"{base}/oidc/logout",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": list(ACR_VALUES),
        "claims_supported": [
            "sub",
            "name",
            "birthdate",
            "gender",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "cccd",
            "identity_level",
            "acr",
            "amr",
            "auth_time",
            "nonce",
        ],
        "ui_locales_supported": ["vi", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "response_modes_supported": ["query"],
    }


@router.get("/oidc/jwks", summary="The keys that sign ID tokens")
def jwks(services: ServicesDep) -> dict[str, Any]:
    return {"keys": flows.jwks(services)}


def _error_page(request: Request, error: OidcError, title: str = "Không thể đăng nhập") -> Response:
    return message_page(request, title, _ERROR_WORDS, status=400, detail=error.detail)


_ERROR_WORDS = (
    "Ứng dụng đã gửi tới kyso một yêu cầu đăng nhập không hợp lệ hoặc đã hết hạn. Hãy quay lại "
    "ứng dụng và bắt đầu lại."
)


def _login_words(exc: IdentityError) -> tuple[str, dict[str, int]]:
    """A refused sign-in in words (a Vietnamese phrase and its values)."""
    if isinstance(exc, Throttled):
        return "Quá nhiều lần thử: thử lại sau {minutes} phút.", {
            "minutes": max(1, (exc.retry_after + 59) // 60)
        }
    if "one-time" in exc.detail:
        return "Mã một lần sai hoặc đã dùng.", {}
    return "Sai địa chỉ email hoặc mật khẩu.", {}


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/oidc/authorize", response_model=None, summary="OpenID Connect authorization")
def authorize(request: Request, runtime: RuntimeDep, services: ServicesDep) -> Response:
    """The sign-in page; a cookie binds the request to this browser (SameSite=Lax: a form
    posted from another site cannot use it)."""
    browser = secrets.token_urlsafe(24)
    try:
        begun = flows.begin(services, dict(request.query_params), browser=browser)
    except OidcError as error:
        if not error.redirect:
            return _error_page(request, error)
        params = request.query_params
        return _redirect(
            with_query(
                params["redirect_uri"],
                error=error.error,
                error_description=error.detail,
                state=params.get("state"),
            )
        )
    page = login_page(request, begun.pending, begun.client)
    page.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=int(REQUEST_TTL.total_seconds()),
        path="/oidc",
        httponly=True,
        samesite="lax",
        secure=runtime.urls.base.startswith("https://"),
    )
    return page


BROWSER_COOKIE = "kyso_oidc_browser"


def _foreign_form(request: Request, runtime: Runtime) -> Response | None:
    """The refusal of a form posted from another site (login CSRF: ``Origin: null`` too)."""
    if not foreign_post(request.headers, runtime.settings.public_url or str(request.base_url)):
        return None
    return message_page(request, "Không thể đăng nhập", _FOREIGN_FORM_WORDS, status=400,
                        detail="The form did not come from kyso's page")  # fmt: skip


_FOREIGN_FORM_WORDS = (
    "Biểu mẫu này không đến từ trang của kyso. Hãy quay lại ứng dụng và bắt đầu đăng nhập lại."
)


@router.post("/oidc/login", response_model=None, summary="The sign-in form of an authorization")
def login(
    request: Request,
    runtime: RuntimeDep,
    services: ServicesDep,
    request_id: FormText = "",
    csrf: FormText = "",
    email: FormText = "",
    password: FormText = "",
    otp: FormText = "",
) -> Response:
    """Sync: the password hash and the database run in the thread pool, not on the loop."""
    if (refused_form := _foreign_form(request, runtime)) is not None:
        return refused_form
    command = SignInToAuthorize(
        request_id=request_id, csrf=csrf, browser=request.cookies.get(BROWSER_COOKIE, ""),
        email=email, password=password, otp=otp or None,
        source=request.client.host if request.client else None,
    )  # fmt: skip
    try:
        done = flows.sign_in(services, command)
    except OidcError as error:
        return _error_page(request, error)
    if done.redirect is not None:
        return _redirect(done.redirect)
    pending, client, refused = done.pending, done.client, done.refusal
    if isinstance(refused, OtpRequired):
        return login_page(request, pending, client, ask_otp=True, message="Nhập mã một lần.")
    if isinstance(refused, StepUpRequired):
        return login_page(request, pending, client, ask_otp=True,
                          message="Ứng dụng này cần thêm mã một lần của bạn.")  # fmt: skip
    if refused is not None:
        words, values = _login_words(refused)
        return login_page(request, pending, client, message=words, ask_otp=bool(otp), **values)
    return consent_page(request, pending, client)


@router.post("/oidc/consent", response_model=None, summary="The consent form of an authorization")
def consent(
    request: Request,
    runtime: RuntimeDep,
    services: ServicesDep,
    request_id: FormText = "",
    csrf: FormText = "",
    decision: FormText = "",
) -> Response:
    if (refused_form := _foreign_form(request, runtime)) is not None:
        return refused_form
    try:
        target = flows.decide(
            services, request_id=request_id, csrf=csrf,
            browser=request.cookies.get(BROWSER_COOKIE, ""), approve=decision == "approve",
        )  # fmt: skip
    except OidcError as error:
        return _error_page(request, error)
    return _redirect(target)


@router.post("/oidc/token", response_model=None, summary="OpenID Connect token endpoint")
def token(
    request: Request,
    runtime: RuntimeDep,
    services: ServicesDep,
    grant_type: FormText = "",
    code: FormText = "",
    redirect_uri: FormText = "",
    code_verifier: OptionalFormText = None,
    refresh_token: FormText = "",
    client_id: FormText = "",
    client_assertion_type: FormText = "",
    client_assertion: FormText = "",
) -> Response:
    fields: dict[str, str] = {
        "grant_type": grant_type,
        "code": code,
        "redirect_uri": redirect_uri,
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_assertion_type": client_assertion_type,
        "client_assertion": client_assertion,
    }
    if code_verifier is not None:
        fields["code_verifier"] = code_verifier
    command = TokenRequest(form=fields, basic=basic_credentials(request),
                           endpoint=f"{runtime.urls.base}/oidc/token")  # fmt: skip
    issued = flows.token(services, command)  # an OidcError is answered in OAuth's format
    response = JSONResponse(issued)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@router.get("/oidc/userinfo", response_model=None, summary="Claims about the signed-in citizen")
@router.post("/oidc/userinfo", response_model=None, summary="Claims about the signed-in citizen")
def userinfo(request: Request, services: ServicesDep) -> Response:
    claims = flows.userinfo(services, _bearer(request))  # errors: OAuth's format
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})


@router.get("/oidc/logout", response_model=None, summary="RP-initiated logout")
@router.post("/oidc/logout", response_model=None, summary="RP-initiated logout")
def logout(
    request: Request,
    services: ServicesDep,
    id_token_hint: OptionalFormText = None,
    post_logout_redirect_uri: OptionalFormText = None,
    state: OptionalFormText = None,
) -> Response:
    params = dict(request.query_params)
    posted = {
        "id_token_hint": id_token_hint,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "state": state,
    }
    params |= {k: v for k, v in posted.items() if v is not None}
    try:
        target = flows.end_session(services, params)
    except OidcError as error:
        return _error_page(request, error, "Không thể đăng xuất")
    if target:
        return _redirect(target)
    if params.get("post_logout_redirect_uri"):
        return message_page(request, "Đã đăng xuất", "Bạn đã đăng xuất. Địa chỉ quay lại không "
                            "được ứng dụng đăng ký nên kyso không chuyển tiếp.")  # fmt: skip
    return message_page(request, "Đã đăng xuất", "Bạn đã đăng xuất khỏi ứng dụng.")
