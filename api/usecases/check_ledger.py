"""Prove the books on a live database (``kyso admin check-ledger``): billing's own rules, and
signatures matched by their charges, both ways."""

from __future__ import annotations

from sqlmodel import Session, col, select

from api.usecases.services import Services
from billing.ledger_check import Finding, check_books
from billing.models import UsageEvent
from billing.plans import SIGNATURE_PRODUCTS
from signing.models import SignatureRecord

__all__ = ["check_ledger"]


def check_ledger(services: Services) -> tuple[dict[str, int], list[Finding]]:
    """What was counted, and what does not add up (nothing when the books are whole)."""
    with services.reading() as session:
        return _check(session)


def _check(session: Session) -> tuple[dict[str, int], list[Finding]]:
    """Every rule of billing's books, and: no signature record without its usage event, no
    signature usage event without its record."""
    counted, findings = check_books(session)
    unpaid = session.exec(
        select(SignatureRecord.id).where(
            ~select(UsageEvent.id).where(UsageEvent.signature_id == SignatureRecord.id).exists()
        )
    ).all()
    for signature_id in unpaid:
        findings.append(
            Finding("signature_has_charge", f"signature {signature_id} was not charged")
        )
    orphans = session.exec(
        select(UsageEvent.id).where(
            col(UsageEvent.product).in_(list(SIGNATURE_PRODUCTS.values())),
            ~select(SignatureRecord.id)
            .where(SignatureRecord.id == UsageEvent.signature_id)
            .exists(),
        )
    ).all()
    for event_id in orphans:
        findings.append(Finding("charge_has_signature", f"usage event {event_id} has no signature"))
    counted["signatures"] = len(session.exec(select(SignatureRecord.id)).all())
    return counted, findings
