"""Typed dependencies shared by the routes: the services, a read-only session, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.bootstrap import Runtime
from api.identity_services import IdentityServices
from api.pki_services import PkiServices
from api.usecases.services import Services, utc_now
from api.usecases.sign_in import note_api_key_use
from identity.errors import AccessDenied, InvalidToken
from identity.sessions import Principal, authenticate_api_key, is_api_key

__all__ = [
    "CallerDep",
    "IdentityDep",
    "PkiDep",
    "ReadSessionDep",
    "RuntimeDep",
    "ServicesDep",
    "authenticate",
    "require_roles",
    "utc_now",
]


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.services.runtime
    return runtime


async def get_pki(request: Request) -> PkiServices:
    pki: PkiServices = request.app.state.services.pki
    return pki


async def get_identity(request: Request) -> IdentityServices:
    identity: IdentityServices = request.app.state.services.identity
    return identity


ServicesDep = Annotated[Services, Depends(get_services)]


def get_read_session(services: ServicesDep) -> Iterator[Session]:
    """A session for the route's reads only (no write lock); whatever it holds is rolled
    back. Every write goes through a use case, which opens its own unit of work."""
    with services.reading() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PkiDep = Annotated[PkiServices, Depends(get_pki)]
IdentityDep = Annotated[IdentityServices, Depends(get_identity)]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = request.headers.get("x-api-key")
    return api_key.strip() if api_key else None


def authenticate(request: Request, services: Services) -> Principal:
    """The caller of ``request`` (bearer token or API key), read in a short session of its
    own, so that nothing is held while the request runs; 401 without one."""
    token = _bearer(request)
    if token is None:
        raise InvalidToken(
            "sign in first: send 'Authorization: Bearer <access token>'", missing=True
        )
    with services.reading() as session:
        if is_api_key(token):
            principal = authenticate_api_key(session, token)
        else:
            principal = services.identity.sign_in.principal_from_token(session, token, utc_now())
    if principal.api_key_id is not None:
        note_api_key_use(services, principal.api_key_id)
    return principal


def get_caller(request: Request, services: ServicesDep) -> Principal:
    """The authenticated caller (bearer token or API key); 401 without one."""
    return authenticate(request, services)


CallerDep = Annotated[Principal, Depends(get_caller)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only these roles through (403 for the others)."""
    allowed = frozenset(roles)

    def check(caller: CallerDep) -> Principal:
        if not caller.roles & allowed:
            raise AccessDenied(f"this needs the role {' or '.join(sorted(allowed))}")
        return caller

    return check
