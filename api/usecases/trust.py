"""Trust anchors: the roots, besides our own, whose signatures verification trusts; added
and removed by administrators (the API, the trust page, ``kyso admin trust``), audited."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from identity.audit import record_audit
from signing.models import TrustAnchor
from signing.trust import add_anchor, remove_anchor

__all__ = ["AddTrustAnchor", "RemoveTrustAnchor", "add", "remove"]


@dataclass(frozen=True, kw_only=True)
class AddTrustAnchor:
    certificate: bytes
    """PEM or DER."""
    actor: str


def add(services: Services, command: AddTrustAnchor) -> TrustAnchor:
    now = services.clock()
    with services.unit_of_work() as session:
        anchor = add_anchor(session, command.certificate, actor=command.actor, now=now)
        record_audit(session, at=now, actor=command.actor, action="trust_anchor.add",
                     target=anchor.sha256, subject=anchor.subject)  # fmt: skip
        return anchor


@dataclass(frozen=True, kw_only=True)
class RemoveTrustAnchor:
    sha256: str
    actor: str


def remove(services: Services, command: RemoveTrustAnchor) -> TrustAnchor:
    now = services.clock()
    with services.unit_of_work() as session:
        anchor = remove_anchor(session, command.sha256)
        record_audit(session, at=now, actor=command.actor, action="trust_anchor.remove",
                     target=anchor.sha256, subject=anchor.subject)  # fmt: skip
        return anchor
