"""Typed dependencies shared by the routes: runtime, services, the unit of work, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.bootstrap import Runtime
from api.database import unit_of_work
from api.identity_services import IdentityServices
from api.pki_services import PkiServices
from identity.errors import AccessDenied, InvalidToken
from identity.sessions import Principal, authenticate_api_key, is_api_key

__all__ = [
    "CallerDep",
    "IdentityDep",
    "PkiDep",
    "ReadSessionDep",
    "ReadingCallerDep",
    "RuntimeDep",
    "SessionDep",
    "authenticate",
    "require_roles",
    "require_roles_reading",
    "utc_now",
]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_pki(request: Request) -> PkiServices:
    pki: PkiServices = request.app.state.pki
    return pki


async def get_identity(request: Request) -> IdentityServices:
    identity: IdentityServices = request.app.state.identity
    return identity


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """The request's unit of work: committed before the response is sent."""
    with unit_of_work(runtime.engine) as session:
        yield session


def get_read_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """A session for reads only (no write lock taken); whatever it holds is rolled back."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PkiDep = Annotated[PkiServices, Depends(get_pki)]
IdentityDep = Annotated[IdentityServices, Depends(get_identity)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = request.headers.get("x-api-key")
    return api_key.strip() if api_key else None


def authenticate(request: Request, session: Session, identity: IdentityServices) -> Principal:
    token = _bearer(request)
    if token is None:
        raise InvalidToken(
            "sign in first: send 'Authorization: Bearer <access token>'", missing=True
        )
    if is_api_key(token):
        return authenticate_api_key(session, token, utc_now())
    return identity.sign_in.principal_from_token(session, token, utc_now())


def get_caller(request: Request, session: SessionDep, identity: IdentityDep) -> Principal:
    """The authenticated caller (bearer token or API key); 401 without one."""
    return authenticate(request, session, identity)


def get_reading_caller(
    request: Request, session: ReadSessionDep, identity: IdentityDep
) -> Principal:
    """The caller, authenticated without taking a write lock (for long requests that write
    in short transactions of their own)."""
    return authenticate(request, session, identity)


CallerDep = Annotated[Principal, Depends(get_caller)]
ReadingCallerDep = Annotated[Principal, Depends(get_reading_caller)]


def _check_roles(caller: Principal, allowed: frozenset[str]) -> Principal:
    if not caller.roles & allowed:
        raise AccessDenied(f"this needs the role {' or '.join(sorted(allowed))}")
    return caller


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only these roles through (403 for the others)."""
    allowed = frozenset(roles)

    def check(caller: CallerDep) -> Principal:
        return _check_roles(caller, allowed)

    return check


def require_roles_reading(*roles: str) -> Callable[[Principal], Principal]:
    """``require_roles`` for routes that authenticate with a read-only session."""
    allowed = frozenset(roles)

    def check(caller: ReadingCallerDep) -> Principal:
        return _check_roles(caller, allowed)

    return check
