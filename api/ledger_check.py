"""``kyso admin check-ledger``: billing's own rules, and signatures matched by their charges."""

from __future__ import annotations

from sqlmodel import Session, col, select

from billing.ledger_check import Finding, check_books
from billing.models import UsageEvent
from billing.plans import SIGNATURE_PRODUCTS
from signing.models import SignatureRecord

__all__ = ["check_ledger"]


def check_ledger(session: Session) -> tuple[dict[str, int], list[Finding]]:
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
