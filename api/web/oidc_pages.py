"""The OpenID Connect sign-in, consent and message pages, drawn with the site's templates:
Vietnamese first, one language at a time with the English switch, the site's stylesheet and
its strict Content-Security-Policy (no inline style or script). The flows are the routes'
(``api/routes/oidc.py``); this module only draws.

A form here posts to kyso, which answers with a redirect to the portal: ``form-action`` names
the portal's origin too, or the browser would stop that redirect. The language switch starts
the authorization again (the same request, in the other language).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import Response

from api.web.context import CONTENT_SECURITY_POLICY, Web
from identity.models import OidcAuthRequest, OidcClient

__all__ = ["SCOPE_WORDS", "consent_page", "login_page", "message_page"]

SCOPE_WORDS = {
    "openid": "Mã định danh riêng cho ứng dụng này",
    "profile": "Họ tên, ngày sinh, giới tính, mức định danh",
    "email": "Địa chỉ thư điện tử",
    "phone": "Số điện thoại",
    "cccd": "SỐ CĂN CƯỚC CÔNG DÂN (CCCD) của bạn",
    "offline_access": "Giữ đăng nhập khi bạn không dùng ứng dụng",
}
"""What each scope gives the portal, in the citizen's words (English in ``english.py``)."""

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")


def _policy(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not _ORIGIN.match(origin):
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


def _again(pending: OidcAuthRequest) -> str:
    """The authorization request, to begin again (in the other language)."""
    params = {"client_id": pending.client_id, "redirect_uri": pending.redirect_uri,
              "response_type": "code", "scope": pending.scope, "state": pending.state,
              "nonce": pending.nonce, "code_challenge": pending.code_challenge,
              "code_challenge_method": "S256" if pending.code_challenge else None,
              "acr_values": pending.acr_required}  # fmt: skip
    return "/oidc/authorize?" + urlencode({k: v for k, v in params.items() if v})


def _page(request: Request, template: str, asked: OidcAuthRequest | None, *,
          title: str, status: int = 200, said: tuple[str, dict[str, object]] = ("", {}),
          **values: object) -> Response:  # fmt: skip
    """``said``: a Vietnamese phrase (and its values) shown as the page's error."""
    web = Web.of(request)
    again = _again(asked) if asked is not None else None
    error = web.t(said[0], **said[1]) if said[0] else ""
    response = web.page(template, status=status, title=web.t(title), language_next=again,
                        error=error, **values)  # fmt: skip
    if asked is not None:
        response.headers["Content-Security-Policy"] = _policy(asked.redirect_uri)
    return response


def login_page(request: Request, pending: OidcAuthRequest, client: OidcClient, *,
               message: str = "", ask_otp: bool = False, **words: object) -> Response:  # fmt: skip
    """The sign-in form; ``message`` a Vietnamese phrase (with ``words`` in it)."""
    return _page(request, "oidc/login.html", pending, title="Đăng nhập bằng kyso",
                 pending=pending, client=client, ask_otp=ask_otp,
                 said=(message, words))  # fmt: skip


def consent_page(request: Request, pending: OidcAuthRequest, client: OidcClient) -> Response:
    scopes = [(s, SCOPE_WORDS.get(s, s)) for s in pending.scope.split()]
    return _page(request, "oidc/consent.html", pending, title="Cho phép chia sẻ thông tin",
                 pending=pending, client=client, scopes=scopes)  # fmt: skip


def message_page(request: Request, title: str, body: str, *, status: int = 200,
                 detail: str = "") -> Response:  # fmt: skip
    """A page in words: ``title`` and ``body`` Vietnamese phrases; ``detail`` the protocol's
    own explanation (English, for the portal's developers)."""
    return _page(request, "oidc/message.html", None, title=title, status=status,
                 heading=title, body=body, detail=detail)  # fmt: skip
