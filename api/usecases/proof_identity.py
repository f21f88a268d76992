"""A registration officer proofs a citizen's identity: the evidence recorded, the citizen at
level 2 (who may then hold a signing certificate); or, seeing a citizen without a second
factor in person, approves their PIN reset."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from identity.accounts import ProofingEvidence, proof_identity, reject_registration
from identity.models import PinResetRequest, User
from identity.pin_resets import approve_reset as approve

__all__ = [
    "ApproveReset",
    "ProofIdentity",
    "RejectRegistration",
    "approve_reset",
    "proof",
    "reject",
]


@dataclass(frozen=True, kw_only=True)
class ProofIdentity:
    officer: User
    citizen_id: str
    evidence: ProofingEvidence


def proof(services: Services, command: ProofIdentity) -> User:
    """The citizen, proofed."""
    with services.unit_of_work() as session:
        record = proof_identity(session, command.officer, command.citizen_id, command.evidence,
                                services.clock())  # fmt: skip
        citizen = session.get(User, record.user_id)
        assert citizen is not None
        return citizen


@dataclass(frozen=True, kw_only=True)
class ApproveReset:
    officer: User
    request_id: str
    evidence: ProofingEvidence


def approve_reset(services: Services, command: ApproveReset) -> tuple[PinResetRequest, User]:
    """The request, approved, and its citizen."""
    with services.unit_of_work() as session:
        return approve(session, command.officer, command.request_id, command.evidence,
                       services.clock())  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RejectRegistration:
    officer: User
    citizen_id: str
    notes: str = ""


def reject(services: Services, command: RejectRegistration) -> User:
    """An impostor's registration (one that claims another person's CCCD), disabled."""
    with services.unit_of_work() as session:
        return reject_registration(session, command.officer, command.citizen_id, command.notes,
                                   services.clock())  # fmt: skip
