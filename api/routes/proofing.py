"""Registration officers: the queue of citizens to proof, and the proofing record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import SessionDep, require_roles, utc_now
from api.schemas import ProofingRequest, UserSummary
from identity.accounts import ProofingEvidence, pending_registrations, proof_identity
from identity.models import Role, User
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/proofing", tags=["identity proofing"])

Officer = Annotated[Principal, Depends(require_roles(Role.REGISTRATION_OFFICER.value))]


@router.get("/queue", summary="Citizens waiting for identity proofing, oldest first")
def queue(officer: Officer, session: SessionDep) -> list[UserSummary]:
    return [UserSummary.model_validate(u) for u in pending_registrations(session)]


@router.post("/{user_id}", summary="Record the check of a citizen and raise them to level 2")
def proof(
    user_id: str, body: ProofingRequest, officer: Officer, session: SessionDep
) -> UserSummary:
    record = proof_identity(
        session,
        officer.user,
        user_id,
        ProofingEvidence(document=body.document, method=body.method, notes=body.notes),
        utc_now(),
    )
    user = session.get(User, record.user_id)
    return UserSummary.model_validate(user)
