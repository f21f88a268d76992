"""A lost PUK: the citizen signs in again (password, one-time code) and gets a new key under a
new PIN, with a new PUK; the old certificate is revoked as superseded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.usecases import issue_credential
from api.usecases.issue_credential import ResetCredential
from api.web.context import Web, WebCaller, WebRoute
from api.web.public import WebDep
from identity.errors import IdentityError
from identity.models import Credential, CredentialStatus, Role

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
FormText = Annotated[str, Form(max_length=400)]
TEMPLATE = "citizen/reset.html"


def _replaceable(web: Web, caller: WebCaller) -> Credential | None:
    usable = (CredentialStatus.ACTIVE.value, CredentialStatus.LOCKED.value)
    with web.services.reading() as reading:
        for credential in web.identity.credentials.list_own(reading, caller.user):
            if credential.status in usable:
                return credential
    return None


def _page(web: Web, caller: WebCaller, *, status: int = 200, error: str = "") -> Response:
    return web.page(TEMPLATE, title=web.t("Mất mã PUK"), status=status, error=error,
                    user=caller.user, current=_replaceable(web, caller))  # fmt: skip


@router.get("/me/certificate/reset")
def reset_form(web: WebDep) -> Response:
    return _page(web, web.require(Role.CITIZEN.value))


@router.post("/me/certificate/reset")
def reset(
    web: WebDep,
    csrf: FormText = "",
    password: FormText = "",
    otp: FormText = "",
    new_pin: FormText = "",
    new_pin_again: FormText = "",
) -> Response:
    caller = web.require(Role.CITIZEN.value)
    web.check_form(csrf)
    current = _replaceable(web, caller)
    if current is None:
        return web.done("/me/certificate", web.t("Bạn chưa có chứng thư ký số."), kind="error")
    if new_pin != new_pin_again:
        return _page(web, caller, status=422, error=web.t("Hai lần nhập mã PIN không giống nhau."))
    command = ResetCredential(user=caller.user, credential_id=current.id, password=password,
                              otp=otp.strip() or None, new_pin=new_pin)  # fmt: skip
    try:
        issued = issue_credential.reset(web.services, command)
    except IdentityError as exc:
        status, words = web.explain(exc)
        return _page(web, caller, status=status, error=words)
    return web.page("citizen/certificate.html", title=web.t("Chứng thư ký số"), status=201,
                    user=caller.user, current=None, issued=issued)  # fmt: skip
