"""A registration officer's pages: the queue of citizens to proof, and the evidence form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.usecases import proof_identity
from api.usecases.proof_identity import ProofIdentity
from api.web.context import WebRoute
from api.web.public import WebDep
from identity.accounts import ProofingEvidence, pending_registrations
from identity.errors import IdentityError
from identity.models import Role

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
    return web.page(
        "officer/queue.html",
        title=web.t("Hồ sơ chờ xác minh"),
        status=status,
        notice=notice,
        error=error,
        waiting=waiting,
        methods=METHODS,
        chosen=chosen,
        errors=errors or {},
    )


@router.get("/officer/registrations")
def queue(web: WebDep, user: str = "") -> Response:
    web.require(OFFICER)
    return _queue_page(web, chosen=user)


@router.post("/officer/registrations/{user_id}")
def proof(
    web: WebDep,
    user_id: str,
    csrf: FormText = "",
    document: FormText = "",
    method: FormText = "",
    notes: FormText = "",
    checked: FormText = "",
) -> Response:
    caller = web.require(OFFICER)
    web.check_form(csrf)
    if not checked:
        return _queue_page(
            web,
            status=422,
            chosen=user_id,
            error=web.t(
                "Hãy xác nhận bạn đã đối chiếu họ tên, ngày sinh và số CCCD với giấy tờ gốc."
            ),
        )
    evidence = ProofingEvidence(document=document, method=method, notes=notes)
    command = ProofIdentity(officer=caller.user, citizen_id=user_id, evidence=evidence)
    try:
        name = proof_identity.proof(web.services, command).full_name
    except IdentityError as exc:
        status, words = web.explain(exc)
        return _queue_page(web, status=status, error=words, chosen=user_id)
    return web.done(
        "/officer/registrations",
        web.t(
            "Đã xác minh danh tính của {name}. Người này đã có thể tạo chứng thư ký số.", name=name
        ),
    )
