"""The citizen's page of a portal's signing request (its ``sign_url``): the portal's
registered name, the purpose, every page, the price and who pays; the stamp placed or
accepted; every document signed with the PIN (and one-time code), or the request declined;
then back to the portal's return URL with ``id`` and ``status``. On a desktop the page shows
the QR code of its own address, to continue on the phone."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import segno
from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from api.file_digests import upload_folder
from api.usecases import signing_requests
from api.usecases.signing_requests import SignAll
from api.web.context import CONTENT_SECURITY_POLICY, Web, WebCaller, WebRoute
from api.web.public import WebDep
from api.web.request_documents import RequestDocuments
from api.web.words import explain
from identity.errors import SigningRequestClosed
from identity.models import Role, SigningRequest, SigningRequestState
from identity.oidc import with_query
from identity.signing_requests import documents_of, for_citizen
from kernel.errors import KysoError

__all__ = ["qr_png", "router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
FormText = Annotated[str, Form(max_length=400)]
CITIZEN = Role.CITIZEN.value


def qr_png(url: str) -> str:
    """The QR code of ``url`` as a ``data:`` URL (a PNG drawn by segno)."""
    png = segno.make(url, error="m").png_data_uri(scale=6, border=4)
    assert isinstance(png, str)
    return png


def _store(web: Web) -> RequestDocuments:
    return RequestDocuments(web.runtime.settings)


def _back(web: Web, found: SigningRequest) -> Response:
    """To the portal's return URL, with the request's id and status."""
    target = with_query(found.return_url, id=found.id, status=found.state)
    return web.finish(RedirectResponse(target, status_code=303))


def _own_url(web: Web, request_id: str) -> str:
    return f"{web.runtime.urls.base}/signing-requests/{request_id}"


@router.get("/signing-requests/{request_id}")
def show(web: WebDep, request_id: str) -> Response:
    caller = web.require(CITIZEN)
    try:
        seen = signing_requests.view(web.services, caller.user, request_id)
    except KysoError as exc:
        return _missing(web, exc)
    found = seen.request
    if found.state != SigningRequestState.PENDING.value:
        return _closed(web, found, seen.portal)
    documents = documents_of(found)
    drafts = _store(web).drafts(documents)
    page = web.page(
        "citizen/signing_request.html",
        title=web.t("Yêu cầu ký"),
        found=found,
        view=seen,
        drafts=drafts,
        user=caller.user,
        qr=qr_png(_own_url(web, found.id)),
        back=with_query(found.return_url, id=found.id, status=found.state),
    )
    # The forms end on the portal's return URL: its origin joins the page's form-action.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(found.return_url))
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return page


def _missing(web: Web, exc: KysoError) -> Response:
    status, words = web.explain(exc)
    return web.page("message.html", status=status, title=web.t("Yêu cầu ký"),
                    heading=web.t("Không mở được yêu cầu ký này"), body=words,
                    link=("/me", web.t("Tổng quan")))  # fmt: skip


_STATE_WORDS = {
    SigningRequestState.SIGNED.value: "Bạn đã ký các tài liệu của yêu cầu này.",
    SigningRequestState.DECLINED.value: "Bạn đã từ chối yêu cầu này: không tài liệu nào được ký.",
    SigningRequestState.EXPIRED.value:
        "Yêu cầu này đã hết hạn: không tài liệu nào được ký, không ai bị trừ tiền.",
    SigningRequestState.FAILED.value: "Không ký được yêu cầu này.",
}  # fmt: skip


def _closed(web: Web, found: SigningRequest, portal: str) -> Response:
    body = web.t(_STATE_WORDS[found.state])
    if found.reason:
        body += " " + explain(found.reason, found.reason, web.lang)
    return web.page(
        "message.html",
        status=200 if found.state == SigningRequestState.SIGNED.value else 409,
        title=web.t("Yêu cầu ký"),
        heading=web.t("Yêu cầu ký từ {portal}", portal=portal),
        body=body,
        link=(with_query(found.return_url, id=found.id, status=found.state),
              web.t("Quay lại {portal}", portal=portal)),
    )  # fmt: skip


@router.get("/signing-requests/{request_id}/documents/{number}/pages/{page}.png")
def page_picture(web: WebDep, request_id: str, number: int, page: int) -> Response:
    caller = web.require(CITIZEN)
    found = _own(web, caller, request_id)
    documents = documents_of(found)
    if not 1 <= number <= len(documents):
        return web.finish(Response(status_code=404))
    png = _store(web).picture(documents[number - 1], page)
    return web.page_picture(png)


def _own(web: Web, caller: WebCaller, request_id: str) -> SigningRequest:
    with web.services.reading() as reading:
        return for_citizen(reading, caller.user.id, request_id)


@router.post("/signing-requests/{request_id}")
def sign(
    web: WebDep,
    request_id: str,
    csrf: FormText = "",
    pin: FormText = "",
    otp: FormText = "",
    mode: FormText = "corner",
    page: FormText = "",
    rect: FormText = "",
) -> Response:
    """Every document signed through the sign-and-charge use case; a second press signs
    nothing more (the request is signed, or its documents' idempotency keys replay)."""
    caller = web.require(CITIZEN)
    web.check_form(csrf)
    again = f"/signing-requests/{request_id}"
    clicked = mode == "click" and bool(rect)
    try:
        found = _own(web, caller, request_id)
        paths = _store(web).paths(documents_of(found))
        command = SignAll(
            user=caller.user, request_id=request_id, pin=pin, otp=otp or None, documents=paths,
            page=int(page) if (clicked and page.isascii() and page.isdigit()) else None,
            rect=rect if clicked else None, language=web.lang,
        )  # fmt: skip
        with upload_folder(web.runtime.settings.upload_dir) as work:
            done = signing_requests.sign_all(web.services, command, work)
    except SigningRequestClosed:
        return web.redirect(again)  # the page says what became of it
    except signing_requests.FINAL_FAILURES:
        return web.redirect(again)
    except KysoError as exc:  # a wrong PIN, a missing code, an empty wallet: try again
        _status, words = web.explain(exc)
        return web.done(again, words, kind="error")
    return _back(web, done)


@router.post("/signing-requests/{request_id}/decline")
def decline(web: WebDep, request_id: str, csrf: FormText = "") -> Response:
    caller = web.require(CITIZEN)
    web.check_form(csrf)
    try:
        done = signing_requests.decline(web.services, caller.user, request_id)
    except SigningRequestClosed:
        return web.redirect(f"/signing-requests/{request_id}")
    return _back(web, done)
