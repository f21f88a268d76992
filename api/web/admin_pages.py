"""Administrators' pages: portals (OpenID Connect clients), trust anchors, price plans, staff
accounts, certificate revocation and the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import col, func, or_, select

from api.billing_views import plan_out
from api.usecases import accounts, oidc_clients
from api.usecases import plans as plan_versions
from api.usecases import revoke as revocation
from api.usecases import trust as trusting
from api.usecases.accounts import CreateUser
from api.usecases.plans import PublishPlan
from api.usecases.revoke import RevokeCertificate
from api.usecases.trust import AddTrustAnchor, RemoveTrustAnchor
from api.web.context import Web, WebRoute
from api.web.public import WebDep
from api.web.words import REASON_WORDS, explain_field
from billing.plans import all_plans
from certs.models import IssuedCertificate
from certs.revocation import RevocationReason
from certs.subject_names import subject_words
from identity.accounts import NewUser
from identity.audit import verify_audit_chain
from identity.errors import InvalidField
from identity.models import AuditEvent, Role, User
from kernel.errors import KysoError
from kernel.vietnam import VIETNAM
from signing.trust import list_anchors

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
ADMIN = Role.ADMIN.value
FormText = Annotated[str, Form(max_length=500)]
STAFF_ROLES = (
    (Role.REGISTRATION_OFFICER.value, "Cán bộ đăng ký"),
    (Role.AGENCY_OFFICER.value, "Cán bộ cơ quan"),
    (Role.BILLING_STAFF.value, "Nhân viên kế toán"),
    (Role.ADMIN.value, "Quản trị viên"),
)
AUDIT_PAGE = 50
Refusal = KysoError


@router.get("/admin")
def overview(web: WebDep) -> Response:
    web.require(ADMIN)
    with web.services.reading() as reading:
        counts = {
            "citizens": reading.exec(
                select(func.count()).select_from(User).where(User.role == Role.CITIZEN.value)
            ).one(),
            "staff": reading.exec(
                select(func.count()).select_from(User).where(User.role != Role.CITIZEN.value)
            ).one(),
            "certificates": reading.exec(
                select(func.count())
                .select_from(IssuedCertificate)
                .where(col(IssuedCertificate.revoked_at).is_(None))
            ).one(),
        }
        verdict = verify_audit_chain(reading)
    return web.page("admin/overview.html", title=web.t("Quản trị"), counts=counts, verdict=verdict)


# -- portals (OpenID Connect clients) ----------------------------------------------------
def _portals_page(web: Web, *, status: int = 200, error: str = "", secret: str = "",
                  rotated: str = "", refused: Refusal | None = None) -> Response:  # fmt: skip
    web.require(ADMIN)
    if refused is not None:
        status, error = web.explain(refused)
    return web.page("admin/oidc_clients.html", title=web.t("Cổng kết nối (OpenID Connect)"),
                    status=status, error=error, rows=oidc_clients.clients(web.services),
                    secret=secret, rotated=rotated)  # fmt: skip


def _portal_form(web: Web, csrf: str) -> str:
    """An administrator's form, checked: who acts, for the audit."""
    caller = web.require(ADMIN)
    web.check_form(csrf)
    return f"user:{caller.user.id}"


@router.get("/admin/oidc-clients")
def portals(web: WebDep) -> Response:
    return _portals_page(web)


@router.post("/admin/oidc-clients/{client_id}/rotate-secret")
def portal_rotate(web: WebDep, client_id: str, csrf: FormText = "") -> Response:
    """The new secret is shown on this answer only (never in a redirect's cookie)."""
    actor = _portal_form(web, csrf)
    try:
        secret = oidc_clients.rotate(web.services, oidc_clients.RotateSecret(
            client_id=client_id, actor=actor))  # fmt: skip
    except Refusal as exc:
        return _portals_page(web, refused=exc)
    return _portals_page(web, secret=secret, rotated=client_id)


@router.post("/admin/oidc-clients/{client_id}/remove")
def portal_remove(
    web: WebDep, client_id: str, csrf: FormText = "", confirm: FormText = ""
) -> Response:
    actor = _portal_form(web, csrf)
    if not confirm:
        return _portals_page(web, status=422,
                             error=web.t("Hãy đánh dấu ô xác nhận trước khi gỡ cổng."))  # fmt: skip
    try:
        removed = oidc_clients.remove(web.services, oidc_clients.RemoveClient(
            client_id=client_id, actor=actor))  # fmt: skip
    except Refusal as exc:
        return _portals_page(web, refused=exc)
    return web.done("/admin/oidc-clients", web.t("Đã gỡ cổng {name}.", name=removed.name))


# -- trust anchors ---------------------------------------------------------------------
def _trust_page(web: Web, *, status: int = 200, notice: str = "", error: str = "") -> Response:
    web.require(ADMIN)
    with web.services.reading() as reading:
        rows = list_anchors(reading)
    return web.page(
        "admin/trust.html",
        title=web.t("CA tin cậy"),
        status=status,
        notice=notice,
        error=error,
        rows=rows,
    )


@router.get("/admin/trust")
def trust(web: WebDep) -> Response:
    return _trust_page(web)


@router.post("/admin/trust")
def trust_add(
    web: WebDep, csrf: FormText = "", certificate: Annotated[str, Form(max_length=64_000)] = ""
) -> Response:
    caller = web.require(ADMIN)
    web.check_form(csrf)
    command = AddTrustAnchor(certificate=(certificate or " ").encode(),
                             actor=f"user:{caller.user.id}")  # fmt: skip
    try:
        added = trusting.add(web.services, command)
    except Refusal as exc:
        status, words = web.explain(exc)
        return _trust_page(web, status=status, error=words)
    return web.done(
        "/admin/trust",
        web.t("Đã tin cậy CA gốc: {subject}", subject=subject_words(added.subject).name),
    )


@router.post("/admin/trust/{sha256}/remove")
def trust_remove(web: WebDep, sha256: str, csrf: FormText = "", confirm: FormText = "") -> Response:
    caller = web.require(ADMIN)
    web.check_form(csrf)
    if not confirm:
        return _trust_page(
            web, status=422, error=web.t("Hãy đánh dấu ô xác nhận trước khi thôi tin cậy.")
        )
    command = RemoveTrustAnchor(sha256=sha256, actor=f"user:{caller.user.id}")
    try:
        removed = trusting.remove(web.services, command)
    except Refusal as exc:
        status, words = web.explain(exc)
        return _trust_page(web, status=status, error=words)
    return web.done(
        "/admin/trust",
        web.t("Đã thôi tin cậy: {subject}", subject=subject_words(removed.subject).name),
    )


# -- price plans -----------------------------------------------------------------------
def _plans_page(
    web: Web,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    web.require(ADMIN)
    with web.services.reading() as reading:
        rows = [plan_out(p) for p in all_plans(reading)]
    newest: dict[str, Any] = {}
    for row in rows:
        if row.code not in newest or row.version > newest[row.code].version:
            newest[row.code] = row
    return web.page(
        "admin/plans.html",
        title=web.t("Bảng giá"),
        status=status,
        notice=notice,
        error=error,
        rows=rows,
        newest=newest,
        values=values or {},
        pretty=lambda terms: json.dumps(terms, indent=2, ensure_ascii=False),
    )


@router.get("/admin/plans")
def price_plans(web: WebDep) -> Response:
    return _plans_page(web)


@router.post("/admin/plans")
def publish(
    web: WebDep,
    csrf: FormText = "",
    code: FormText = "",
    effective_from: FormText = "",
    terms: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    caller = web.require(ADMIN)
    web.check_form(csrf)
    values = {"code": code, "effective_from": effective_from, "terms": terms}
    try:
        when = datetime.fromisoformat(effective_from)
        if when.tzinfo is None:
            when = when.replace(tzinfo=VIETNAM)
        parsed = json.loads(terms)
        if not isinstance(parsed, dict):
            raise ValueError("terms are a JSON object")
    except ValueError:
        return _plans_page(
            web,
            status=422,
            values=values,
            error=web.t("Ngày hiệu lực hoặc điều khoản (JSON) chưa đúng."),
        )
    command = PublishPlan(code=code, terms=parsed, effective_from=when,
                          actor=f"user:{caller.user.id}")  # fmt: skip
    try:
        plan = plan_versions.publish(web.services, command)
    except Refusal as exc:
        status, words = web.explain(exc)
        return _plans_page(web, status=status, values=values, error=words)
    return web.done(
        "/admin/plans", web.t("Đã công bố {code} phiên bản {v}.", code=plan.code, v=plan.version)
    )


# -- staff -----------------------------------------------------------------------------
def _staff_page(
    web: Web,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    web.require(ADMIN)
    with web.services.reading() as reading:
        rows = list(
            reading.exec(
                select(User)
                .where(User.role != Role.CITIZEN.value)
                .order_by(col(User.role), col(User.email))
            )
        )
    return web.page(
        "admin/staff.html",
        title=web.t("Nhân viên"),
        status=status,
        notice=notice,
        error=error,
        rows=rows,
        roles=STAFF_ROLES,
        values=values or {},
        errors=errors or {},
        role_names=dict(STAFF_ROLES),
    )


@router.get("/admin/staff")
def staff(web: WebDep) -> Response:
    return _staff_page(web)


@router.post("/admin/staff")
def new_staff(
    web: WebDep,
    csrf: FormText = "",
    email: FormText = "",
    full_name: FormText = "",
    role: FormText = "",
    password: FormText = "",
) -> Response:
    caller = web.require(ADMIN)
    web.check_form(csrf)
    values = {"email": email, "full_name": full_name, "role": role}
    if role not in dict(STAFF_ROLES):
        return _staff_page(web, status=422, values=values, error=web.t("Hãy chọn vai trò."))
    new = NewUser(email=email, password=password, full_name=full_name, role=Role(role))
    try:
        accounts.create_user_account(
            web.services, CreateUser(new=new, actor=f"user:{caller.user.id}")
        )
    except InvalidField as exc:
        return _staff_page(
            web,
            status=422,
            values=values,
            errors={f: explain_field(f, m, web.lang) for f, m in exc.errors.items()},
            error=web.t("Một số thông tin chưa đúng, vui lòng xem lại các ô được đánh dấu."),
        )
    except Refusal as exc:
        status, words = web.explain(exc)
        return _staff_page(web, status=status, values=values, error=words)
    return web.done(
        "/admin/staff",
        web.t(
            "Đã tạo tài khoản {email}. Hãy trao mật khẩu tạm cho người đó qua kênh an toàn.",
            email=email,
        ),
    )


# -- certificates ----------------------------------------------------------------------
def _certificates_page(
    web: Web, query: str, *, status: int = 200, notice: str = "", error: str = ""
) -> Response:
    web.require(ADMIN)
    rows: list[IssuedCertificate] = []
    wanted = query.strip()
    with web.services.reading() as reading:
        statement = select(IssuedCertificate).where(IssuedCertificate.profile == "signing")
        if wanted:
            hex_serial = wanted.lower().replace(":", "")
            statement = statement.where(
                or_(
                    col(IssuedCertificate.serial) == hex_serial,
                    col(IssuedCertificate.subject_uid).contains(wanted),
                    col(IssuedCertificate.subject).contains(wanted),
                )
            )
        rows = list(
            reading.exec(statement.order_by(col(IssuedCertificate.issued_at).desc()).limit(100))
        )
    return web.page(
        "admin/certificates.html",
        title=web.t("Thu hồi chứng thư"),
        status=status,
        notice=notice,
        error=error,
        rows=rows,
        query=wanted,
        reasons=[r.value for r in RevocationReason],
    )


@router.get("/admin/certificates")
def certificates(web: WebDep, q: str = "") -> Response:
    return _certificates_page(web, q[:100])


@router.post("/admin/certificates/{serial}/revoke")
def revoke(
    web: WebDep, serial: str, csrf: FormText = "", reason: FormText = "", confirm: FormText = ""
) -> Response:
    caller = web.require(ADMIN)
    web.check_form(csrf)
    with web.services.reading() as reading:
        found = reading.get(IssuedCertificate, serial.lower().replace(":", ""))
    if found is not None and found.profile != "signing":
        return _certificates_page(
            web,
            serial,
            status=403,
            error=web.t(
                "Chứng thư hạ tầng của kyso (CA, OCSP, TSA) chỉ thu hồi được bằng lệnh "
                "kyso admin revoke, theo quy trình quản lý khoá."
            ),
        )
    if not confirm:
        return _certificates_page(
            web,
            serial,
            status=422,
            error=web.t("Hãy đánh dấu ô xác nhận: thu hồi không thể hoàn tác."),
        )
    command = RevokeCertificate(serial=serial, reason=reason, actor=f"user:{caller.user.id}")
    try:
        done = revocation.revoke_certificate(web.services, command)
    except Refusal as exc:
        status, words = web.explain(exc)
        return _certificates_page(web, serial, status=status, error=words)
    return web.done(
        f"/admin/certificates?q={done.serial}",
        web.t(
            "Đã thu hồi chứng thư {serial} ({reason}); "
            "danh sách thu hồi (CRL) số {crl} đã được công bố.",
            serial=done.serial,
            reason=web.t(REASON_WORDS.get(done.reason, done.reason)),
            crl=done.crl_number,
        ),
    )


# -- audit log -------------------------------------------------------------------------
@router.get("/admin/audit")
def audit(web: WebDep, action: str = "", before: int = 0) -> Response:
    web.require(ADMIN)
    with web.services.reading() as reading:
        statement = select(AuditEvent)
        if action:
            statement = statement.where(col(AuditEvent.action).startswith(action[:64]))
        if before > 0:
            statement = statement.where(col(AuditEvent.seq) < before)
        rows = list(reading.exec(statement.order_by(col(AuditEvent.seq).desc()).limit(AUDIT_PAGE)))
        verdict = verify_audit_chain(reading)
        ids = {row.actor.removeprefix("user:") for row in rows if row.actor.startswith("user:")}
        people = {
            f"user:{u.id}": f"{u.full_name} <{u.email}>"
            for u in reading.exec(select(User).where(col(User.id).in_(ids)))
        }
    return web.page(
        "admin/audit.html",
        title=web.t("Nhật ký"),
        rows=rows,
        action=action,
        verdict=verdict,
        older=rows[-1].seq if len(rows) == AUDIT_PAGE else None,
        details=lambda row: json.loads(row.details or "{}"),
        people=people,
    )
