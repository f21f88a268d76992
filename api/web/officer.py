"""A registration officer's pages: the queue of citizens to proof, and the evidence form; the
PIN resets of citizens without a second factor, approved when seen in person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from api.usecases import proof_identity
from api.usecases.proof_identity import ApproveReset, ProofIdentity, RejectRegistration
from api.web.context import WebRoute
from api.web.public import WebDep
from identity.accounts import ProofingEvidence, competing_registrations, pending_registrations
from identity.errors import IdentityError
from identity.models import Role, User
from identity.pin_resets import IN_PERSON_METHODS, pending_resets

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
FormText = Annotated[str, Form(max_length=1000)]
OFFICER = Role.REGISTRATION_OFFICER.value

METHODS = (
    ("in_person", "Gặp trực tiếp, đối chiếu thẻ CCCD gắn chip với người đến"),
    ("chip_nfc", "Đọc chip thẻ CCCD bằng thiết bị NFC"),
    ("video_call", "Gọi video, đối chiếu khuôn mặt với ảnh trên thẻ"),
)


def _queue_page(
    web: WebDep,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
    chosen: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    with web.services.reading() as reading:
        waiting = pending_registrations(reading)
        competing = {p.id: competing_registrations(reading, p) for p in waiting}
        resets = pending_resets(reading)
    return web.page(
        "officer/queue.html",
        title=web.t("Hồ sơ chờ xác minh"),
        status=status,
        notice=notice,
        error=error,
        waiting=waiting,
        competing=competing,
        resets=resets,
        methods=METHODS,
        in_person=[m for m in METHODS if m[0] in IN_PERSON_METHODS],
        chosen=chosen,
        errors=errors or {},
    )


@router.get("/officer/registrations")
def queue(web: WebDep, user: str = "") -> Response:
    web.require(OFFICER)
    return _queue_page(web, chosen=user)


class EvidenceForm:
    """The officer's form: what was seen, how, and the box ticked to say it was checked."""

    def __init__(
        self,
        csrf: FormText = "",
        document: FormText = "",
        method: FormText = "",
        notes: FormText = "",
        checked: FormText = "",
    ) -> None:
        self.csrf, self.checked = csrf, checked
        self.evidence = ProofingEvidence(document=document, method=method, notes=notes)


Evidence = Annotated[EvidenceForm, Depends()]


def _officer_acts(
    web: WebDep, form: EvidenceForm, act: Callable[[User], str], *, unchecked: str,
    chosen: str = "",
) -> Response:  # fmt: skip
    """The officer's act on a checked form (``unchecked``: the words when the box is not
    ticked); the queue page again with the refusal otherwise."""
    caller = web.require(OFFICER)
    web.check_form(form.csrf)
    if not form.checked:
        return _queue_page(web, status=422, chosen=chosen, error=unchecked)
    try:
        notice = act(caller.user)
    except IdentityError as exc:
        status, words = web.explain(exc)
        return _queue_page(web, status=status, error=words, chosen=chosen)
    return web.done("/officer/registrations", notice)


@router.post("/officer/registrations/{user_id}")
def proof(web: WebDep, user_id: str, form: Evidence) -> Response:
    def act(officer: User) -> str:
        command = ProofIdentity(officer=officer, citizen_id=user_id, evidence=form.evidence)
        name = proof_identity.proof(web.services, command).full_name
        return web.t(
            "Đã xác minh danh tính của {name}. Người này đã có thể tạo chứng thư ký số.", name=name
        )

    unchecked = web.t("Hãy xác nhận bạn đã đối chiếu họ tên, ngày sinh và số CCCD với giấy tờ gốc.")
    return _officer_acts(web, form, act, unchecked=unchecked, chosen=user_id)


@router.post("/officer/resets/{request_id}")
def approve_reset(web: WebDep, request_id: str, form: Evidence) -> Response:
    def act(officer: User) -> str:
        command = ApproveReset(officer=officer, request_id=request_id, evidence=form.evidence)
        _, citizen = proof_identity.approve_reset(web.services, command)
        return web.t(
            "Đã duyệt yêu cầu đặt lại mã PIN của {name}. Trong một ngày, người này có thể "
            "đặt lại mã PIN bằng mật khẩu.",
            name=citizen.full_name,
        )

    unchecked = web.t("Hãy xác nhận bạn đã gặp trực tiếp người này và đối chiếu thẻ CCCD gốc.")
    return _officer_acts(web, form, act, unchecked=unchecked)


@router.post("/officer/registrations/{user_id}/reject")
def reject(web: WebDep, user_id: str, csrf: FormText = "") -> Response:
    caller = web.require(OFFICER)
    web.check_form(csrf)
    command = RejectRegistration(officer=caller.user, citizen_id=user_id)
    try:
        name = proof_identity.reject(web.services, command).full_name
    except IdentityError as exc:
        status, words = web.explain(exc)
        return _queue_page(web, status=status, error=words)
    return web.done(
        "/officer/registrations",
        web.t("Đã từ chối và khoá tài khoản của {name}.", name=name),
    )
