"""What the wallet page shows to pay in: kyso's bank account, the wallet's payment code and
its VietQR code (drawn by segno as a PNG data URI, which the page's CSP allows)."""

from __future__ import annotations

from dataclasses import dataclass

import segno

from api.billing_schemas import WalletOut
from api.billing_views import receiving_account
from api.settings import DEMO_BANK_ACCOUNT, Settings
from billing.vietqr import BankAccount, payload

__all__ = ["AMOUNTS", "PayingIn", "paying_in"]

AMOUNTS = (50_000, 100_000, 200_000, 500_000)
"""The amounts offered as ready codes (the plain code lets the payer type any amount)."""


@dataclass(frozen=True)
class PayingIn:
    bank: BankAccount
    demo: bool
    """The account is the demonstration default: say so, nobody should pay into it."""
    code: str
    amount: int | None
    qr_payload: str
    qr_image: str
    """``data:image/png;base64,…``"""


def paying_in(settings: Settings, wallet: WalletOut, amount: str) -> PayingIn | None:
    """The wallet's paying-in facts, for ``amount`` VND when it is one of :data:`AMOUNTS`;
    ``None`` when an organisation pays (its members do not pay in)."""
    if wallet.payment_code is None:
        return None
    bank = receiving_account(settings)
    chosen = int(amount) if amount.isdigit() and int(amount) in AMOUNTS else None
    text = payload(bank, purpose=wallet.payment_code, amount=chosen)
    image = segno.make(text, error="m", micro=False).png_data_uri(scale=5, border=4)
    return PayingIn(bank, settings.bank_account == DEMO_BANK_ACCOUNT,
                    wallet.payment_code, chosen, text, image)  # fmt: skip
