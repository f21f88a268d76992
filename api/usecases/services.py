"""What the use cases work with: the process's collaborators, built once, and the unit of work.

The app factory builds one :class:`Services` for the process (``app.state.services``); the
command line builds one per command. Use cases open their own units of work through it: only
the unit of work commits, and no adapter opens one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlmodel import Session

from api.bootstrap import Runtime
from api.database import unit_of_work
from api.identity_services import IdentityServices, build_identity_services
from api.pki_services import PkiServices, build_pki_services
from identity.oidc import OidcProvider

if TYPE_CHECKING:
    from api.signing_services import SigningServices
    from api.verification_services import VerificationServices

__all__ = ["Clock", "Services", "build_services", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """One process's collaborators for the use cases.

    Signing and verification (pyHanko and its dependencies, more than half of the command
    line's start) are built on first use: most ``kyso admin`` commands never need them. The
    server builds them before it serves (:meth:`build_all`, :func:`build_services` with
    ``eager``)."""

    runtime: Runtime
    pki: PkiServices
    identity: IdentityServices
    oidc: OidcProvider
    clock: Clock = field(default=utc_now)
    """Where a use case takes its one ``now`` (a fixed clock in tests)."""

    @cached_property
    def signing(self) -> SigningServices:
        from api.signing_services import build_signing_services

        return build_signing_services(self.runtime, self.pki)

    @cached_property
    def verification(self) -> VerificationServices:
        from api.verification_services import VerificationServices

        return VerificationServices(self.runtime, self.pki)

    def build_all(self) -> Services:
        """Signing and verification built now (a server, before its first request)."""
        self.signing  # noqa: B018
        self.verification  # noqa: B018
        return self

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        return unit_of_work(self.runtime.engine)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: it takes no write lock and never commits; closing it at
        the end of the block ends its transaction (what was read stays readable)."""
        with Session(self.runtime.engine, expire_on_commit=False) as session:
            yield session

    def close(self) -> None:
        """Give back what the process holds open (the OCSP responder's kept connection)."""
        self.pki.ocsp_source.close()


def build_oidc_provider(runtime: Runtime, identity: IdentityServices) -> OidcProvider:
    """Once per process: the pairwise-subject key is derived from the master key here."""
    return OidcProvider(
        tokens=identity.tokens,
        issuer=runtime.urls.base,
        pairwise_key=runtime.master_key.derive(b"kyso oidc pairwise subject"),
    )


def build_services(runtime: Runtime, *, clock: Clock = utc_now, eager: bool = False) -> Services:
    """Every collaborator of the process, from its runtime; with ``eager``, signing and
    verification too (a server builds everything before its first request)."""
    pki = build_pki_services(runtime)
    identity = build_identity_services(runtime)
    services = Services(
        runtime=runtime,
        pki=pki,
        identity=identity,
        oidc=build_oidc_provider(runtime, identity),
        clock=clock,
    )
    return services.build_all() if eager else services
