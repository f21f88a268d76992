"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.bootstrap import Runtime
from api.database import unit_of_work
from api.pki_services import PkiServices

__all__ = ["PkiDep", "RuntimeDep", "SessionDep"]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_pki(request: Request) -> PkiServices:
    pki: PkiServices = request.app.state.pki
    return pki


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    with unit_of_work(runtime.engine) as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PkiDep = Annotated[PkiServices, Depends(get_pki)]
SessionDep = Annotated[Session, Depends(get_session)]
