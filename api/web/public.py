"""Pages anyone may open: the front page, sign-in and sign-out, registration, the language."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from api.usecases import accounts, sign_in
from api.usecases.accounts import RegisterCitizen
from api.usecases.services import utc_now
from api.usecases.sign_in import OpenWebSession
from api.web.context import LANG_COOKIE, SESSION_COOKIE, Web, WebRoute
from api.web.navigation import home_of
from api.web.words import explain_field
from billing.plans import CITIZEN_PLAN, plan_in_force
from identity.accounts import NewUser, account_problems
from identity.cccd import Gender
from identity.errors import IdentityError, InvalidField

__all__ = ["WebDep", "router"]

router = APIRouter(include_in_schema=False, route_class=WebRoute)
WebDep = Annotated[Web, Depends(Web.of)]
FormText = Annotated[str, Form(max_length=400)]


@router.get("/")
def home(web: WebDep) -> Response:
    if web.caller is not None:
        return web.redirect(home_of(web.caller.user.role))
    with web.services.reading() as reading:
        _, citizen = plan_in_force(reading, CITIZEN_PLAN, utc_now())
    tiers = sorted(citizen.tiers, key=lambda tier: tier.start)
    return web.page(
        "home.html",
        title=web.t("Ký số theo lượt"),
        plan=citizen,
        first=tiers[0] if tiers else None,
        second=tiers[1] if len(tiers) > 1 else None,
        lowest=tiers[-1] if len(tiers) > 1 else None,
        yearly=web.runtime.settings.yearly_certificate_price,
    )


@router.get("/language/{lang}")
def language(web: WebDep, lang: str, next: str = "/") -> Response:
    if lang in ("vi", "en"):
        web.lang = lang  # type: ignore[assignment]
        web.set_cookie(LANG_COOKIE, lang, 60 * 60 * 24 * 400)
    return web.redirect(next)


@router.get("/login")
def login_form(web: WebDep, next: str = "", signed_out: str = "", expired: str = "") -> Response:
    if web.caller is not None:
        return web.redirect(next or home_of(web.caller.user.role))
    notice = web.t("Bạn đã đăng xuất.") if signed_out else ""
    if expired and not notice:
        notice = web.t("Phiên đăng nhập của bạn đã hết hạn (sau 30 phút không dùng, hoặc 12 giờ "
                       "sau khi đăng nhập). Hãy đăng nhập lại: bạn sẽ trở lại trang đang dùng, "
                       "với các lựa chọn đã điền (trừ mã PIN).")  # fmt: skip
    if next and not notice:
        notice = web.t("Vui lòng đăng nhập để tiếp tục.")
    return web.page("login.html", title=web.t("Đăng nhập"), next=next, email="", notice=notice)


@router.post("/login")
def login(
    web: WebDep,
    csrf: FormText = "",
    email: FormText = "",
    password: FormText = "",
    otp: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=12_000)] = "",  # a CSC OAuth request: 100 hashes
) -> Response:
    web.check_form(csrf)
    source = web.request.client.host if web.request.client else None
    command = OpenWebSession(email=email, password=password, otp=otp or None, source=source)
    try:
        user, token = sign_in.open_web_session(web.services, command)
    except IdentityError as exc:
        status, words = web.explain(exc)
        return web.page(
            "login.html",
            title=web.t("Đăng nhập"),
            status=status,
            error=words,
            next=next,
            email=email,
        )
    web.set_cookie(SESSION_COOKIE, token, None)
    return web.redirect(next or home_of(user.role))


@router.post("/logout")
def logout(web: WebDep, csrf: FormText = "") -> Response:
    if web.caller is not None:
        web.check_form(csrf)
        sign_in.end_web_session(web.services, web.caller.token)
    web.set_cookie(SESSION_COOKIE, "", 0)
    return web.redirect("/login?signed_out=1")


_FIELDS = ("full_name", "cccd", "date_of_birth", "gender", "email", "phone")


@router.get("/register")
def register_form(web: WebDep) -> Response:
    return web.page("register.html", title=web.t("Đăng ký"), values={}, errors={})


@router.post("/register")
def register(
    web: WebDep,
    csrf: FormText = "",
    full_name: FormText = "",
    cccd: FormText = "",
    date_of_birth: FormText = "",
    gender: FormText = "",
    email: FormText = "",
    phone: FormText = "",
    password: FormText = "",
) -> Response:
    web.check_form(csrf)
    values = dict(zip(_FIELDS, (full_name, cccd, date_of_birth, gender, email, phone), strict=True))
    try:
        born: date | None = date.fromisoformat(date_of_birth)
    except ValueError:
        born = None
    sex = Gender(gender) if gender in ("male", "female") else None
    new = NewUser(email=email, password=password, full_name=full_name, cccd=cccd.strip(),
                  date_of_birth=born, gender=sex, phone=phone)  # fmt: skip
    problems = account_problems(new, utc_now().date())  # every field at once, not in rounds
    if not problems:
        try:
            source = web.request.client.host if web.request.client else None
            accounts.register(web.services, RegisterCitizen(new=new, source=source))
        except InvalidField as exc:
            problems = exc.errors
        except IdentityError as exc:
            status, words = web.explain(exc)
            return web.page("register.html", title=web.t("Đăng ký"), status=status,
                            error=words, values=values, errors={})  # fmt: skip
    if problems:
        return web.page(
            "register.html",
            title=web.t("Đăng ký"),
            status=422,
            error=web.t("Một số thông tin chưa đúng, vui lòng xem lại các ô được đánh dấu."),
            values=values,
            errors={f: explain_field(f, m, web.lang) for f, m in problems.items()},
        )
    return web.done(
        "/login",
        web.t(
            "Đăng ký thành công. Bước tiếp theo: mang thẻ CCCD đến cán bộ đăng ký để xác minh "
            "danh tính. Sau đó hãy đăng nhập và tạo chứng thư ký số bằng một mã PIN do bạn chọn."
        ),
    )
