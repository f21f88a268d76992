"""Reading an EMVCo QR payload back, written independently of ``billing.vietqr`` (the CRC
from crcmod's catalogue), so that the tests check the format rather than our own code."""

from __future__ import annotations

import crcmod.predefined  # type: ignore[import-untyped]

_CRC = crcmod.predefined.mkPredefinedCrcFun("crc-ccitt-false")


def tlv(text: str) -> dict[str, str]:
    """The data objects of one EMV level: ID (2), length (2), value; every character used."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(text):
        tag, length = text[at : at + 2], int(text[at + 2 : at + 4])
        value = text[at + 4 : at + 4 + length]
        assert len(value) == length, f"field {tag} is cut short"
        assert tag not in fields, f"field {tag} twice"
        fields[tag] = value
        at += 4 + length
    return fields


def crc_is_right(text: str) -> bool:
    """The last field is 63, 4 hex digits: CRC-16/CCITT-FALSE of all before them."""
    return text[-8:-4] == "6304" and f"{_CRC(text[:-4].encode('ascii')):04X}" == text[-4:]
