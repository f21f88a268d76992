"""A PIN reset without the PUK needs more than the password: the one-time code, or, for a
citizen without a second factor, a registration officer who sees them in person. The citizen's
reset asks for it (a queue like proofing); the officer's approval serves one reset within a
day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from identity.accounts import ProofingEvidence, check_evidence
from identity.audit import record_audit
from identity.errors import NotFound, ResetNeedsOfficer
from identity.models import PinResetRequest, User

__all__ = [
    "APPROVAL_LIFETIME",
    "IN_PERSON_METHODS",
    "approve_reset",
    "pending_resets",
    "require_reset_approval",
]

APPROVAL_LIFETIME = timedelta(hours=24)
"""How long an officer's approval waits for the citizen's reset."""
IN_PERSON_METHODS = ("in_person", "chip_nfc")
"""Seeing the citizen: at the desk, with the card's chip read there (not a video call)."""


def require_reset_approval(session: Session, user: User, credential_id: str, now: datetime) -> None:
    """For a citizen without a second factor: spend the officer's approval of this reset, or
    queue a request for one and refuse (``ResetNeedsOfficer``, committed)."""
    approved = session.exec(
        select(PinResetRequest)
        .where(PinResetRequest.user_id == user.id)
        .where(PinResetRequest.credential_id == credential_id)
        .where(col(PinResetRequest.approved_at) > now - APPROVAL_LIFETIME)
        .where(col(PinResetRequest.used_at).is_(None))
        .with_for_update()
    ).first()
    if approved is not None:
        approved.used_at = now
        session.add(approved)
        return
    waiting = session.exec(
        select(PinResetRequest)
        .where(PinResetRequest.user_id == user.id)
        .where(PinResetRequest.credential_id == credential_id)
        .where(col(PinResetRequest.approved_at).is_(None))
    ).first()
    if waiting is None:
        session.add(PinResetRequest(user_id=user.id, credential_id=credential_id,
                                    requested_at=now))  # fmt: skip
        record_audit(session, at=now, actor=f"user:{user.id}", action="credential.reset_request",
                     target=credential_id)  # fmt: skip
    raise ResetNeedsOfficer(
        "without a second factor, a PIN reset needs a registration officer who sees you in "
        "person: bring your CCCD card to a registration desk, then reset again within a day",
        credential_id=credential_id,
    )


def pending_resets(session: Session) -> list[tuple[PinResetRequest, User]]:
    """Reset requests waiting for an officer, oldest first, with their citizens."""
    rows = session.exec(
        select(PinResetRequest, User)
        .where(col(PinResetRequest.user_id) == col(User.id))
        .where(col(PinResetRequest.approved_at).is_(None))
        .where(col(User.disabled).is_(False))
        .order_by(col(PinResetRequest.requested_at))
    )
    return [(request, user) for request, user in rows]


def approve_reset(
    session: Session, officer: User, request_id: str, evidence: ProofingEvidence, now: datetime
) -> tuple[PinResetRequest, User]:
    """The officer saw the citizen in person: their next reset within a day goes ahead."""
    check_evidence(evidence, IN_PERSON_METHODS)
    request = session.get(PinResetRequest, request_id, with_for_update=True)
    citizen = session.get(User, request.user_id) if request is not None else None
    if request is None or citizen is None or request.approved_at is not None:
        raise NotFound("no such PIN reset request waiting")
    request.officer_id = officer.id
    request.method = evidence.method
    request.approved_at = now
    session.add(request)
    record_audit(session, at=now, actor=f"user:{officer.id}", action="credential.reset_approve",
                 target=request.credential_id, user_id=citizen.id, method=evidence.method,
                 document=evidence.document.strip())  # fmt: skip
    return request, citizen
