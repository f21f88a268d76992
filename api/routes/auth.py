"""Registration and the OAuth2 token endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from api.deps import ServicesDep
from api.errors import UnsupportedGrant
from api.schemas import Registration, RegistrationOut, TokenResponse
from api.usecases import accounts, sign_in
from api.usecases.accounts import RegisterCitizen
from api.usecases.sign_in import PasswordGrant, RefreshGrant
from identity.accounts import NewUser
from identity.errors import InvalidField

__all__ = ["router"]

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/register", status_code=201, summary="Register as a citizen (identity level 1)")
def register(body: Registration, request: Request, services: ServicesDep) -> RegistrationOut:
    new = NewUser(
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        cccd=body.cccd,
        date_of_birth=body.date_of_birth,
        gender=body.gender,
        phone=body.phone,
    )
    source = request.client.host if request.client else None
    user = accounts.register(services, RegisterCitizen(new=new, source=source))
    return RegistrationOut(
        id=user.id,
        email=user.email,
        identity_level=user.identity_level,
        next_step="visit a registration officer with your CCCD card to have your identity checked",
    )


_GRANT_FIELDS_HELP = (
    "required with grant_type=password: username is the account's e-mail address, password its "
    "password (and otp the one-time code, once a second factor is enrolled)"
)


@router.post("/token", summary="OAuth2 token endpoint (password and refresh_token grants)")
def token(
    request: Request,
    services: ServicesDep,
    grant_type: Annotated[str, Form()],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    otp: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
) -> TokenResponse:
    if grant_type == "password" and (username is None or password is None):
        missing = (name for name, value in (("username", username), ("password", password))
                   if value is None)  # fmt: skip
        raise InvalidField(dict.fromkeys(missing, _GRANT_FIELDS_HELP))
    if grant_type == "password" and username is not None and password is not None:
        source = request.client.host if request.client else None
        grant = PasswordGrant(email=username, password=password, otp=otp, source=source)
        issued = sign_in.password_grant(services, grant)
    elif grant_type == "refresh_token" and refresh_token:
        issued = sign_in.refresh_grant(services, RefreshGrant(refresh_token=refresh_token))
    else:
        raise UnsupportedGrant(
            "use grant_type=password (username, password[, otp]) "
            "or grant_type=refresh_token (refresh_token)"
        )
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )
