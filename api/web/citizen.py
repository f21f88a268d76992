"""A citizen's pages: overview, certificate, signing (upload, place the stamp, PIN,
download), history with what each signature cost, wallet."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from sqlmodel import Session, select

from api.billing_schemas import WalletOut
from api.billing_views import wallet_out
from api.downloads import LargeFileResponse, attachment
from api.file_digests import receive, upload_folder
from api.usecases import credential_pin, issue_credential, sign_document
from api.usecases.credential_pin import UnlockWithPuk
from api.usecases.issue_credential import IssueCredential
from api.usecases.payer import payer_for
from api.usecases.services import utc_now
from api.usecases.sign_document import SignDocument
from api.web.context import Web, WebCaller, WebRoute
from api.web.drafts import DraftStore
from api.web.paying_in import AMOUNTS, paying_in
from api.web.public import WebDep
from billing.accounts import peek_account
from billing.charges import quote
from billing.metering import usage_of
from billing.models import UsageEvent
from billing.plans import SIGNATURE_PRODUCTS
from identity.errors import IdentityError
from identity.models import Credential, CredentialStatus, Role
from identity.signing_requests import sponsored_signatures
from kernel.errors import KysoError, RequestInProgress
from signing.errors import EarlierSignatureFails, NotAPdf, SignatureNotFound, SigningError
from signing.models import SignatureRecord
from signing.records import history, owned_document

__all__ = ["LEVELS", "router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
FormText = Annotated[str, Form(max_length=400)]
CITIZEN = Role.CITIZEN.value

LEVELS = (
    (
        "B-LT",
        "Khuyên dùng: kèm dấu thời gian và dữ liệu kiểm tra chứng thư, "
        "để còn kiểm chứng được nhiều năm sau.",
    ),
    ("B-T", "Kèm dấu thời gian tin cậy chứng minh thời điểm ký."),
    ("B-B", "Chữ ký cơ bản, không có dấu thời gian."),
    ("B-LTA", "Như B-LT, thêm dấu thời gian lưu trữ cho hồ sơ cần giữ rất lâu."),
)
"""Each level with its one line of explanation; B-LT is preselected."""


def _drafts(web: Web) -> DraftStore:
    settings = web.runtime.settings
    return DraftStore(settings.data_dir / "drafts", max_pages=settings.max_pages)


def _active_credential(session: Session, web: Web, caller: WebCaller) -> Credential | None:
    """The newest credential that can sign, or that a PUK can unlock."""
    usable = (CredentialStatus.ACTIVE.value, CredentialStatus.LOCKED.value)
    for credential in web.identity.credentials.list_own(session, caller.user):
        if credential.status in usable:
            return credential
    return None


def _wallet(web: Web, caller: WebCaller) -> WalletOut:
    with web.services.reading() as reading:
        return wallet_out(reading, caller.user, web.runtime.settings, utc_now())


@router.get("/me")
def overview(web: WebDep) -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        credential = _latest_credential(reading, web, caller)
        recent = history(reading, caller.user.id, limit=5)
        costs = _costs(reading, caller.user.id)
    return web.page(
        "citizen/overview.html",
        title=web.t("Tổng quan"),
        user=caller.user,
        credential=credential,
        wallet=_wallet(web, caller),
        recent=recent,
        costs=costs,
    )


def _latest_credential(session: Session, web: Web, caller: WebCaller) -> Credential | None:
    """The citizen's newest credential, whatever its state."""
    credentials = web.identity.credentials.list_own(session, caller.user)
    return credentials[0] if credentials else None


def _certificate_page(
    web: Web, caller: WebCaller, *, status: int = 200, error: str = "", issued: Any = None
) -> Response:
    with web.services.reading() as reading:
        current = _latest_credential(reading, web, caller)
    return web.page(
        "citizen/certificate.html",
        title=web.t("Chứng thư ký số"),
        status=status,
        error=error,
        user=caller.user,
        current=current,
        issued=issued,
    )


@router.get("/me/certificate")
def certificate_form(web: WebDep) -> Response:
    return _certificate_page(web, web.require(CITIZEN))


def _pin_problem(web: Web, pin: str, again: str) -> str:
    if pin != again:
        return web.t("Hai lần nhập mã PIN không giống nhau.")
    if not (pin.isascii() and pin.isdigit() and 6 <= len(pin) <= 8):
        return web.t("Mã PIN gồm 6 đến 8 chữ số.")
    return ""


@router.post("/me/certificate")
def certificate(
    web: WebDep, csrf: FormText = "", pin: FormText = "", pin_again: FormText = ""
) -> Response:
    caller = web.require(CITIZEN)
    web.check_form(csrf)
    if problem := _pin_problem(web, pin, pin_again):
        return _certificate_page(web, caller, status=422, error=problem)
    with web.services.reading() as reading:
        current = _active_credential(reading, web, caller)
    if current is not None:  # a second press, or a reload: never a second key
        return web.done("/me/certificate", web.t("Bạn đã có chứng thư ký số."), kind="error")
    try:
        issued = issue_credential.issue(web.services, IssueCredential(user=caller.user, pin=pin))
    except IdentityError as exc:
        status, words = web.explain(exc)
        return _certificate_page(web, caller, status=status, error=words)
    return _certificate_page(web, caller, status=201, issued=issued)


@router.post("/me/certificate/unlock")
def unlock_with_puk(
    web: WebDep,
    csrf: FormText = "",
    puk: FormText = "",
    new_pin: FormText = "",
    new_pin_again: FormText = "",
) -> Response:
    """After five wrong PINs: the PUK given at issuance opens the key again under a new PIN."""
    caller = web.require(CITIZEN)
    web.check_form(csrf)
    if problem := _pin_problem(web, new_pin, new_pin_again):
        return _certificate_page(web, caller, status=422, error=problem)
    with web.services.reading() as reading:
        current = _latest_credential(reading, web, caller)
    if current is None:
        return web.done("/me/certificate", web.t("Bạn chưa có chứng thư ký số."), kind="error")
    command = UnlockWithPuk(user=caller.user, credential_id=current.id, puk=puk.strip(),
                            new_pin=new_pin)  # fmt: skip
    try:
        credential_pin.unlock_with_puk(web.services, command)
    except IdentityError as exc:
        status, words = web.explain(exc)
        return _certificate_page(web, caller, status=status, error=words)
    return web.done("/me", web.t("Đã mở khoá chứng thư với mã PIN mới. Bạn có thể ký lại."))


@router.get("/sign")
def upload_form(web: WebDep) -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        credential = _active_credential(reading, web, caller)
    return web.page(
        "citizen/upload.html", title=web.t("Ký tài liệu"), user=caller.user, credential=credential
    )


@router.post("/sign")
def upload(
    web: WebDep, file: Annotated[UploadFile | None, File()] = None, csrf: FormText = ""
) -> Response:
    caller = web.require(CITIZEN)
    web.check_form(csrf)
    try:
        if file is None or not file.filename:
            raise NotAPdf("choose a PDF file")
        draft = _drafts(web).keep(caller.user.id, file.file, file.filename)
    except SigningError as exc:
        status, words = web.explain(exc)
        if file is None or not file.filename:
            words = web.t("Hãy chọn một tệp PDF để ký.")
        with web.services.reading() as reading:
            credential = _active_credential(reading, web, caller)
        return web.page(
            "citizen/upload.html",
            title=web.t("Ký tài liệu"),
            user=caller.user,
            credential=credential,
            status=status,
            error=words,
        )
    return web.redirect(f"/sign/{draft.id}")


def _prices(web: Web, caller: WebCaller, purpose: str | None) -> dict[str, int]:
    now = utc_now()
    with web.services.reading() as reading:
        payer = payer_for(reading, caller.user)
        account = peek_account(
            reading, payer.account_id, kind=payer.kind, label=payer.label, now=now
        )
        prices = {
            level: quote(reading, account, product, purpose=purpose, now=now).amount
            for level, product in SIGNATURE_PRODUCTS.items()
        }
        reading.rollback()
    return prices


def _place_page(
    web: Web,
    caller: WebCaller,
    draft_id: str,
    *,
    status: int = 200,
    error: str = "",
    chosen: dict[str, str] | None = None,
) -> Response:
    draft = _drafts(web).get(caller.user.id, draft_id)
    return web.page(
        "citizen/place.html",
        title=web.t("Đặt chữ ký"),
        status=status,
        error=error,
        draft=draft,
        user=caller.user,
        levels=LEVELS,
        prices=_prices(web, caller, None),
        wallet=_wallet(web, caller),
        chosen=chosen or {"level": "B-LT", "mode": "corner"},
    )


_CHOICES = ("level", "mode", "page", "rect", "reason", "location", "public_service",
            "ask_confirm")  # fmt: skip


def _gone(web: Web) -> Response:
    return web.page("message.html", status=404, title=web.t("Không còn tài liệu chờ ký"),
                    heading=web.t("Không còn tài liệu chờ ký"),
                    body=web.t("Tài liệu tải lên này không còn chờ ký: đã ký xong, hoặc đã "
                               "quá một giờ. Hãy tải tệp lên lại."),
                    link=("/sign", web.t("Ký tài liệu")))  # fmt: skip


@router.get("/sign/{draft_id}")
def place(web: WebDep, draft_id: str) -> Response:
    """The draft's pages and the signing form; after a refused attempt the choices come back
    in the address (never the PIN)."""
    caller = web.require(CITIZEN)
    asked = {k: web.request.query_params.get(k, "")[:200] for k in _CHOICES}
    try:
        return _place_page(web, caller, draft_id, chosen=asked if asked["level"] else None)
    except SignatureNotFound:
        return _gone(web)


@router.get("/sign/{draft_id}/pages/{page}.png")
def page_picture(web: WebDep, draft_id: str, page: int) -> Response:
    caller = web.require(CITIZEN)
    png = _drafts(web).picture(caller.user.id, draft_id, page)
    return web.page_picture(png)


@router.post("/sign/{draft_id}")
def sign(
    web: WebDep,
    draft_id: str,
    csrf: FormText = "",
    pin: FormText = "",
    otp: FormText = "",
    level: FormText = "B-LT",
    mode: FormText = "click",
    page: FormText = "",
    rect: FormText = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    location: Annotated[str, Form(max_length=200)] = "",
    public_service: FormText = "",
    confirm_countersign: FormText = "",
) -> Response:
    """Hands the draft to the sign-and-charge use case, as the REST API does. The draft names
    the idempotency key: a second press, a reload or a second tab signs (and
    charges) once, and lands on the same signature."""
    chosen = {
        "level": level,
        "mode": mode,
        "page": page,
        "rect": rect,
        "reason": reason,
        "location": location,
        "public_service": public_service,
    }
    again = f"/sign/{draft_id}?" + urlencode(chosen)
    caller = web.require(CITIZEN, back_to=again)  # a session ended: its choices come back
    web.check_form(csrf)
    drafts = _drafts(web)
    key = f"web-{draft_id}"
    if (done := _signed_with(web, caller, key)) is not None:
        return web.redirect(f"/me/signatures/{done}")
    invisible = mode == "invisible"
    if mode == "click" and not rect:
        return web.done(
            again,
            web.t("Hãy bấm vào trang để chọn chỗ đặt con dấu, hoặc chọn một cách khác."),
            kind="error",
        )
    clicked = mode == "click"
    try:
        path = drafts.document(caller.user.id, draft_id)
        draft = drafts.get(caller.user.id, draft_id)
        command = SignDocument(
            pin=pin, otp=otp or None, level=level, reason=reason or None,
            location=location or None,
            page=int(page) if (clicked and page.isascii() and page.isdigit()) else None,
            rect=(rect or None) if clicked else None, invisible=invisible, language=web.lang,
            purpose="public_service" if public_service else None, idempotency_key=key,
            filename=draft.filename, confirm_countersign=bool(confirm_countersign),
        )  # fmt: skip
        command.options(caller.user)
        with path.open("rb") as stream, upload_folder(web.runtime.settings.upload_dir) as work:
            received = receive(stream, work / "upload.pdf")
            signed = sign_document.sign(web.services, caller.user, command, received,
                                        work / "signed.pdf")  # fmt: skip
    except SignatureNotFound:
        return _gone(web)
    except RequestInProgress as busy:  # a second press, another tab: wait for the first
        if (done := _signed_with(web, caller, key, wait=PRESS_WAIT_SECONDS)) is not None:
            return web.redirect(f"/me/signatures/{done}")
        _status, words = web.explain(busy)
        return web.done(again, words, kind="error")
    except EarlierSignatureFails as exc:  # ask: sign a document whose signature fails?
        _status, words = web.explain(exc)
        return web.done(f"{again}&ask_confirm=1", words, kind="error")
    except KysoError as exc:  # a refusal
        _status, words = web.explain(exc)
        return web.done(again, words, kind="error")  # back to the form: Back and reload are safe
    drafts.discard(caller.user.id, draft_id)
    return web.redirect(f"/me/signatures/{signed.record.id}?signed=1")


PRESS_WAIT_SECONDS = 30.0
"""How long a second press waits for the first to finish signing."""


def _signed_with(web: Web, caller: WebCaller, key: str, *, wait: float = 0.0) -> str | None:
    """The signature this draft's key made, if any (waiting up to ``wait`` seconds for it)."""
    deadline = time.monotonic() + wait
    while True:
        with web.services.reading() as reading:
            done = reading.exec(
                select(SignatureRecord.id).where(
                    SignatureRecord.user_id == caller.user.id,
                    SignatureRecord.idempotency_key == key,
                )
            ).first()
        if done is not None or time.monotonic() >= deadline:
            return done
        time.sleep(0.2)


def _costs(session: Session, user_id: str) -> dict[str, Any]:
    """Signature id -> its usage event (what it cost and what paid for it); a signature a
    portal sponsored -> the portal's name (it cost the citizen nothing)."""
    sponsored: dict[str, Any] = sponsored_signatures(session, user_id)
    return {
        **{e.signature_id: e for e in usage_of(session, user_id, limit=500) if e.signature_id},
        **sponsored,
    }


@router.get("/me/signatures")
def signatures(web: WebDep) -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        records = history(reading, caller.user.id, limit=200)
        costs = _costs(reading, caller.user.id)
    return web.page(
        "citizen/signatures.html", title=web.t("Lịch sử ký"), records=records, costs=costs
    )


@router.get("/me/signatures/{signature_id}")
def signature(web: WebDep, signature_id: str, signed: str = "") -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        record = reading.get(SignatureRecord, signature_id)
        cost = reading.exec(
            select(UsageEvent).where(UsageEvent.signature_id == signature_id)
        ).first()
        paid_by = sponsored_signatures(reading, caller.user.id).get(signature_id)
    if record is None or record.user_id != caller.user.id:
        return web.page(
            "message.html",
            status=404,
            title=web.t("Không tìm thấy"),
            heading=web.t("Không tìm thấy chữ ký này"),
            body="",
            link=("/me/signatures", web.t("Lịch sử ký")),
        )
    return web.page(
        "citizen/signature.html",
        title=web.t("Chữ ký"),
        record=record,
        cost=cost,
        paid_by=paid_by,
        wallet=_wallet(web, caller),
        notice=web.t("Đã ký xong. Hãy tải tài liệu đã ký về máy.") if signed else "",
    )


@router.get("/me/signatures/{signature_id}/document")
def document(web: WebDep, signature_id: str) -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        try:
            record, path = owned_document(
                reading,
                web.services.signing.store,
                user_id=caller.user.id,
                signature_id=signature_id,
            )
        except SigningError as exc:
            status, words = web.explain(exc)
            return web.page(
                "message.html",
                status=status,
                title=web.t("Không tải được"),
                heading=web.t("Không tải được tài liệu"),
                body=words,
                link=("/me/signatures", web.t("Lịch sử ký")),
            )
    name = Path(record.filename).stem + "-signed.pdf"
    response = LargeFileResponse(path, media_type="application/pdf",
                                 headers={"X-Signature-Id": record.id,
                                          "Content-Disposition": attachment(name)})  # fmt: skip
    return web.finish(response)


@router.get("/me/wallet")
def wallet(web: WebDep, amount: str = "") -> Response:
    caller = web.require(CITIZEN)
    with web.services.reading() as reading:
        events = usage_of(reading, caller.user.id, limit=50)
    shown = _wallet(web, caller)
    return web.page(
        "citizen/wallet.html",
        paying=paying_in(web.runtime.settings, shown, amount[:12]),
        amounts=AMOUNTS,
        title=web.t("Ví và chi phí"),
        wallet=shown,
        events=events,
        user=caller.user,
    )
