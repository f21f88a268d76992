"""A credit note on an issued invoice (whole or partial, with a reason), credited to the
wallet; all of an invoice's notes never exceed it. Audited."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from billing.invoices import issue_credit_note
from billing.models import CreditNote
from identity.audit import record_audit

__all__ = ["IssueCreditNote", "issue"]


@dataclass(frozen=True, kw_only=True)
class IssueCreditNote:
    invoice_id: str
    amount: int | None
    """VND; ``None``: what is left of the invoice."""
    reason: str
    actor: str


def issue(services: Services, command: IssueCreditNote) -> CreditNote:
    now = services.clock()
    with services.unit_of_work() as session:
        note = issue_credit_note(session, command.invoice_id, amount=command.amount,
                                 reason=command.reason, actor=command.actor, now=now)  # fmt: skip
        record_audit(session, at=now, actor=command.actor, action="billing.credit_note",
                     target=note.number, invoice_id=command.invoice_id,
                     amount=note.amount)  # fmt: skip
        return note
