"""The audit log: append-only, each record chained to the previous one by its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from identity.models import AuditEvent, AuditHead

__all__ = [
    "GENESIS_HASH",
    "AuditVerdict",
    "record_audit",
    "record_ca_key_use",
    "record_key_generation",
    "verify_audit_chain",
]

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
    """Append a record in the caller's unit of work, locking the chain head until commit.
    Three statements built once (the ORM's flush of the same three cost four times as much);
    a head the session holds shows the new one."""
    head = session.execute(_HEAD).first()
    seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    event = AuditEvent(
        seq=seq + 1,
        at=at,
        actor=actor,
        action=action,
        target=target,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = _digest(prev_hash, event)
    values = {name: getattr(event, name) for name in _EVENT_COLUMNS}
    event.id = session.execute(_APPEND, values).scalar_one()
    moved = {"seq": event.seq, "hash": event.hash}
    if head is None:  # the migration creates it; a bare test schema may not have
        session.execute(insert(_HEADS).values(id=1, **moved))
    else:
        session.execute(_MOVE_HEAD, moved)
    if (held := session.identity_map.get(identity_key(AuditHead, 1))) is not None:
        for name, value in moved.items():
            set_committed_value(held, name, value)
    return event


_HEADS = AuditHead.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = ("seq", "at", "actor", "action", "target", "details", "prev_hash", "hash")
_HEAD = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.id == 1).with_for_update()
_APPEND = (
    insert(_EVENTS)
    .values({name: bindparam(name) for name in _EVENT_COLUMNS})
    .returning(_EVENTS.c.id)
)
_MOVE_HEAD = (
    update(_HEADS).where(_HEADS.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))
)


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


def record_key_generation(
    session: Session,
    *,
    at: datetime,
    actor: str,
    key_id: str,
    purpose: str,
    algorithm: str,
    key_store: str,
) -> AuditEvent:
    """A key made in a key store or token: CA, OCSP, TSA, token-signing or a citizen's."""
    return record_audit(
        session,
        at=at,
        actor=actor,
        action="key.generate",
        target=key_id,
        purpose=purpose,
        algorithm=algorithm,
        key_store=key_store,
    )


def record_ca_key_use(
    session: Session, *, at: datetime, actor: str, key_id: str, purpose: str, target: str
) -> AuditEvent:
    """A use of a CA key (root or issuing): a certificate, a CRL or a request signed.

    OCSP and TSA keys are not CA keys: their answers are not audited one by one."""
    return record_audit(
        session,
        at=at,
        actor=actor,
        action="ca_key.use",
        target=target,
        key_id=key_id,
        purpose=purpose,
    )
