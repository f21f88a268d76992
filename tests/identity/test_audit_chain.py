"""The audit chain detects an edited, removed or inserted record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from identity.audit import _digest, record_audit, verify_audit_chain
from identity.models import AuditEvent


def _append(session: Session, count: int) -> list[AuditEvent]:
    start = datetime.now(UTC)
    return [
        record_audit(
            session,
            at=start + timedelta(seconds=i),
            actor="test",
            action="thing.happen",
            target=f"t{i}",
            number=i,
            text="Nguyễn",
        )
        for i in range(count)
    ]


def test_untouched_chain_verifies(session: Session) -> None:
    _append(session, 5)
    verdict = verify_audit_chain(session)
    assert verdict.intact, verdict.problem
    assert verdict.records >= 5


def test_edited_record_is_detected(session: Session) -> None:
    events = _append(session, 5)
    session.execute(
        update(AuditEvent).where(col(AuditEvent.seq) == events[2].seq).values(target="someone else")
    )
    verdict = verify_audit_chain(session)
    assert not verdict.intact
    assert verdict.problem == f"record {events[2].seq} was altered"


def test_removed_record_is_detected(session: Session) -> None:
    events = _append(session, 5)
    session.execute(delete(AuditEvent).where(col(AuditEvent.seq) == events[1].seq))
    verdict = verify_audit_chain(session)
    assert not verdict.intact
    assert verdict.problem == f"record {events[1].seq} is missing"


def test_removed_last_record_is_detected(session: Session) -> None:
    events = _append(session, 3)
    session.execute(delete(AuditEvent).where(col(AuditEvent.seq) == events[-1].seq))
    verdict = verify_audit_chain(session)
    assert not verdict.intact
    assert "removed" in (verdict.problem or "")


def test_rehashed_forgery_is_detected(session: Session) -> None:
    """Editing a record and recomputing its own hash still breaks the next link."""
    events = _append(session, 4)
    victim = events[1]
    forged = AuditEvent(seq=victim.seq, at=victim.at, actor=victim.actor, action=victim.action,
                        target="forged", details=victim.details, prev_hash=victim.prev_hash,
                        hash="")  # fmt: skip
    session.execute(
        update(AuditEvent)
        .where(col(AuditEvent.seq) == victim.seq)
        .values(target="forged", hash=_digest(victim.prev_hash, forged))
    )
    verdict = verify_audit_chain(session)
    assert not verdict.intact
    assert verdict.problem == f"record {events[2].seq} does not follow its predecessor"
