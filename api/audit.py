"""The audit log: who did what to whom, append-only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel

from certs.models import utc_column

__all__ = ["AuditEvent", "record_audit"]


class AuditEvent(SQLModel, table=True):
    """One recorded action. Rows are only ever inserted."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(index=True))
    actor: str = Field(max_length=128)
    action: str = Field(index=True, max_length=64)
    target: str = Field(max_length=256)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


def record_audit(
    session: Session, *, at: datetime, actor: str, action: str, target: str, **details: Any
) -> AuditEvent:
    """Append an event in the caller's unit of work."""
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        target=target,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event
