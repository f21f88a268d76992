"""Signature records: replay lookup for idempotency, history, and the retention purge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from kernel.errors import IdempotencyConflict
from signing.errors import DocumentGone, SignatureNotFound
from signing.models import KeptReport, SignatureRecord
from signing.storage import DocumentStore

__all__ = ["find_replay", "history", "owned_document", "purge_expired", "purge_kept_reports"]


def find_replay(
    session: Session, *, user_id: str, idempotency_key: str, request_sha256: str
) -> SignatureRecord | None:
    """The earlier result for this key, or None. The same key with other content is refused."""
    record = session.exec(
        select(SignatureRecord)
        .where(SignatureRecord.user_id == user_id)
        .where(SignatureRecord.idempotency_key == idempotency_key)
    ).first()
    if record is not None and record.request_sha256 != request_sha256:
        raise IdempotencyConflict(
            "this Idempotency-Key was used for a different document or options; use a new key",
            earlier=record.id,
        )
    return record


def history(session: Session, user_id: str, *, limit: int = 100) -> list[SignatureRecord]:
    return list(
        session.exec(
            select(SignatureRecord)
            .where(SignatureRecord.user_id == user_id)
            .order_by(col(SignatureRecord.created_at).desc())
            .limit(limit)
        )
    )


def owned_document(
    session: Session, store: DocumentStore, *, user_id: str, signature_id: str
) -> tuple[SignatureRecord, str]:
    """The record and the path of its kept document; ``DocumentGone`` after the purge."""
    record = session.get(SignatureRecord, signature_id)
    if record is None or record.user_id != user_id:
        raise SignatureNotFound("no such signature")
    path = store.path(record.id)
    if record.purged_at is not None or not path.exists():
        raise DocumentGone(
            f"the signed document was deleted after its retention period "
            f"(kept until {record.retain_until:%Y-%m-%d}); the signature record remains",
            signature_id=record.id,
        )
    return record, str(path)


def purge_expired(session: Session, store: DocumentStore, now: datetime) -> int:
    """Delete documents past their retention; keep the records. Returns how many."""
    expired = session.exec(
        select(SignatureRecord)
        .where(col(SignatureRecord.purged_at).is_(None))
        .where(SignatureRecord.retain_until <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for record in expired:
        store.delete(record.id)
        record.purged_at = now
        session.add(record)
    session.flush()
    return len(expired)


def purge_kept_reports(session: Session, now: datetime) -> int:
    """Delete verification reports kept for the web pages past their time."""
    result = session.execute(delete(KeptReport).where(col(KeptReport.expires_at) <= now))
    return int(getattr(result, "rowcount", 0) or 0)
