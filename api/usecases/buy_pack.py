"""A citizen buys a pack of signatures from the wallet (idempotent by its key)."""

from __future__ import annotations

from dataclasses import dataclass

from api.usecases.payer import payer_for
from api.usecases.services import Services
from billing.accounts import CITIZEN
from billing.errors import OrganisationMoney
from billing.models import PackPurchase
from billing.packs import buy_pack
from identity.models import User

__all__ = ["BuyPack", "buy"]


@dataclass(frozen=True, kw_only=True)
class BuyPack:
    user: User
    pack: str
    idempotency_key: str | None = None


def buy(services: Services, command: BuyPack) -> PackPurchase:
    with services.unit_of_work() as session:
        payer = payer_for(session, command.user)
        if payer.kind != CITIZEN:
            raise OrganisationMoney(
                "packs are for personal wallets; your organisation's plan covers your signatures"
            )
        key = command.idempotency_key
        scoped = f"pack:{command.user.id}:{key}" if key else None
        return buy_pack(session, payer, command.pack, now=services.clock(), idempotency_key=scoped)
