"""The audit log: append-only, each record chained to the previous one by its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from identity.models import AuditEvent, AuditHead

__all__ = ["GENESIS_HASH", "AuditVerdict", "record_audit", "verify_audit_chain"]

GENESIS_HASH = "0" * 64


def _digest(prev_hash: str, event: AuditEvent) -> str:
    canonical = json.dumps(
        [event.seq, event.at.isoformat(), event.actor, event.action, event.target, event.details],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def record_audit(
    session: Session, *, at: datetime, actor: str, action: str, target: str, **details: Any
) -> AuditEvent:
    """Append a record in the caller's unit of work, locking the chain head until commit."""
    head = session.get(AuditHead, 1, with_for_update=True)
    if head is None:  # the migration creates it; a bare test schema may not have
        head = AuditHead(id=1, seq=0, hash=GENESIS_HASH)
    event = AuditEvent(
        seq=head.seq + 1,
        at=at,
        actor=actor,
        action=action,
        target=target,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=head.hash,
        hash="",
    )
    event.hash = _digest(head.hash, event)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    session.add(head)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditVerdict:
    """What a walk along the chain found."""

    intact: bool
    records: int
    problem: str | None = None
    """The first break, in words: which record was edited, removed or inserted."""


def verify_audit_chain(session: Session) -> AuditVerdict:
    """Recompute every hash from the first record to the head."""
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
        count += 1
        if event.seq != expected_seq:
            return AuditVerdict(False, count, f"record {expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return AuditVerdict(False, count, f"record {event.seq} does not follow its predecessor")
        if _digest(event.prev_hash, event) != event.hash:
            return AuditVerdict(False, count, f"record {event.seq} was altered")
        expected_prev, expected_seq = event.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (expected_seq - 1, expected_prev):
        return AuditVerdict(False, count, f"records after {expected_seq - 1} were removed")
    return AuditVerdict(True, count)
