"""Registration officers: the queue of citizens to proof, and the proofing record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import ReadSessionDep, ServicesDep, require_roles
from api.schemas import ProofingRequest, UserSummary
from api.usecases import proof_identity
from api.usecases.proof_identity import ProofIdentity
from identity.accounts import ProofingEvidence, pending_registrations
from identity.models import Role
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/proofing", tags=["identity proofing"])

Officer = Annotated[Principal, Depends(require_roles(Role.REGISTRATION_OFFICER.value))]


@router.get("/queue", summary="Citizens waiting for identity proofing, oldest first")
def queue(officer: Officer, session: ReadSessionDep) -> list[UserSummary]:
    return [UserSummary.model_validate(u) for u in pending_registrations(session)]


@router.post("/{user_id}", summary="Record the check of a citizen and raise them to level 2")
def proof(
    user_id: str, body: ProofingRequest, officer: Officer, services: ServicesDep
) -> UserSummary:
    evidence = ProofingEvidence(document=body.document, method=body.method, notes=body.notes)
    command = ProofIdentity(officer=officer.user, citizen_id=user_id, evidence=evidence)
    return UserSummary.model_validate(proof_identity.proof(services, command))
