"""The master key into custodians' hands: SLIP-39 shares of it, the split recorded in the
audit log (the shares themselves never are)."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.services import Services
from certs.master_key_shares import MasterKeyShares, split_master_key
from identity.audit import record_audit

__all__ = ["SplitMasterKey", "split"]


@dataclass(frozen=True, kw_only=True)
class SplitMasterKey:
    shares: int
    """N: how many custodians get a share."""
    threshold: int
    """M: how many shares rebuild the key."""
    actor: str


def split(services: Services, command: SplitMasterKey) -> MasterKeyShares:
    """N shares of this instance's master key, any M of which rebuild it."""
    made = split_master_key(
        services.runtime.master_key, shares=command.shares, threshold=command.threshold
    )
    with services.unit_of_work() as session:
        record_audit(session, at=services.clock(), actor=command.actor,
                     action="master_key.split", target=made.master_key_id,
                     shares=command.shares, threshold=command.threshold)  # fmt: skip
    return made
