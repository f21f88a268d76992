"""The VietQR payload: NAPAS's profile of the EMVCo merchant-presented QR code for a transfer
to a bank account (NAPAS 247 "QRIBFTTA", transfer to an account number).

Each data object is ID (2 digits), length (2 digits) and value; the last one, ``63``, is the
CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF) of everything before it, ``6304``
included, written as 4 upper-case hex digits."""

from __future__ import annotations

from dataclasses import dataclass

from billing.errors import InvalidBillingInput

__all__ = ["NAPAS_GUID", "SERVICE_TO_ACCOUNT", "BankAccount", "crc16_ccitt_false", "payload"]

NAPAS_GUID = "A000000727"
"""The application identifier of NAPAS in the merchant account information (ID 38, 00)."""
SERVICE_TO_ACCOUNT = "QRIBFTTA"
"""NAPAS 247 inter-bank transfer to an account number (``QRIBFTTC`` would be to a card)."""
STATIC, DYNAMIC = "11", "12"
"""Point of initiation: a code for any amount, or one for the amount it carries."""


@dataclass(frozen=True)
class BankAccount:
    """Where top-ups are paid."""

    bank_name: str
    """For people: ``Vietcombank``."""
    bin: str
    """The bank's 6-digit NAPAS BIN (acquirer id), e.g. ``970436`` for Vietcombank."""
    number: str
    """The account number, up to 19 characters."""
    holder: str
    """The account holder's name as the bank shows it."""


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise InvalidBillingInput(f"VietQR field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def payload(account: BankAccount, *, purpose: str, amount: int | None = None) -> str:
    """The text a bank app reads from the code: pay ``account``, with ``purpose`` as the
    transfer's description (letters and digits only: apps strip the rest), for ``amount`` VND
    when given (then the app does not let the payer change it)."""
    if not (len(account.bin) == 6 and account.bin.isdigit()):
        raise InvalidBillingInput("a bank BIN is 6 digits", field="bin")
    if not (0 < len(account.number) <= 19 and account.number.isalnum()):
        raise InvalidBillingInput("a bank account number is 1 to 19 letters or digits")
    if not (0 < len(purpose) <= 25 and purpose.isascii() and purpose.isalnum()):
        raise InvalidBillingInput("a transfer description is 1 to 25 letters or digits")
    beneficiary = _tlv("00", account.bin) + _tlv("01", account.number)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE_TO_ACCOUNT)
    text = _tlv("00", "01") + _tlv("01", STATIC if amount is None else DYNAMIC)
    text += _tlv("38", merchant) + _tlv("53", "704")
    if amount is not None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InvalidBillingInput("an amount is a positive whole number of VND")
        text += _tlv("54", str(amount))
    text += _tlv("58", "VN") + _tlv("62", _tlv("08", purpose)) + "6304"
    return text + f"{crc16_ccitt_false(text.encode('ascii')):04X}"
