"""Registration officers: the queue of citizens to proof, and the proofing record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import ReadSessionDep, ServicesDep, require_roles
from api.schemas import (
    PinResetApproved,
    PinResetWaiting,
    ProofingRequest,
    QueueEntry,
    Rejection,
    UserSummary,
)
from api.usecases import proof_identity
from api.usecases.proof_identity import ApproveReset, ProofIdentity, RejectRegistration
from identity.accounts import ProofingEvidence, competing_registrations, pending_registrations
from identity.models import Role
from identity.pin_resets import pending_resets
from identity.sessions import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/proofing", tags=["identity proofing"])

Officer = Annotated[Principal, Depends(require_roles(Role.REGISTRATION_OFFICER.value))]


@router.get("/queue", summary="Citizens waiting for identity proofing, oldest first")
def queue(officer: Officer, session: ReadSessionDep) -> list[QueueEntry]:
    return [
        QueueEntry.model_validate(
            {
                **UserSummary.model_validate(u).model_dump(),
                "competing": [c.id for c in competing_registrations(session, u)],
            }
        )
        for u in pending_registrations(session)
    ]


@router.post("/{user_id}/reject", summary="Not the CCCD's owner's registration: disable it")
def reject(user_id: str, body: Rejection, officer: Officer, services: ServicesDep) -> UserSummary:
    command = RejectRegistration(officer=officer.user, citizen_id=user_id, notes=body.notes)
    return UserSummary.model_validate(proof_identity.reject(services, command))


@router.get("/resets", summary="PIN resets waiting for an officer who sees the citizen")
def resets(officer: Officer, session: ReadSessionDep) -> list[PinResetWaiting]:
    return [
        PinResetWaiting(
            request_id=request.id,
            credential_id=request.credential_id,
            requested_at=request.requested_at,
            citizen=UserSummary.model_validate(citizen),
        )
        for request, citizen in pending_resets(session)
    ]


@router.post("/resets/{request_id}", summary="Seen in person: the next PIN reset may go ahead")
def approve_reset(
    request_id: str, body: ProofingRequest, officer: Officer, services: ServicesDep
) -> PinResetApproved:
    evidence = ProofingEvidence(document=body.document, method=body.method, notes=body.notes)
    command = ApproveReset(officer=officer.user, request_id=request_id, evidence=evidence)
    request, citizen = proof_identity.approve_reset(services, command)
    assert request.approved_at is not None
    return PinResetApproved(request_id=request.id, credential_id=request.credential_id,
                            approved_at=request.approved_at,
                            citizen=UserSummary.model_validate(citizen))  # fmt: skip


@router.post("/{user_id}", summary="Record the check of a citizen and raise them to level 2")
def proof(
    user_id: str, body: ProofingRequest, officer: Officer, services: ServicesDep
) -> UserSummary:
    evidence = ProofingEvidence(document=body.document, method=body.method, notes=body.notes)
    command = ProofIdentity(officer=officer.user, citizen_id=user_id, evidence=evidence)
    return UserSummary.model_validate(proof_identity.proof(services, command))
