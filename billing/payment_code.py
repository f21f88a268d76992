"""The payment code: one short code per billing account, written in a bank transfer's
description so that a statement line finds its wallet. Upper-case letters and digits only,
because bank apps strip or change anything else (``@``, spaces, accents)."""

from __future__ import annotations

import re

__all__ = ["account_id_prefix", "codes_in", "payment_code"]

PREFIX = "KYSO"
HEX_DIGITS = 12
"""48 bits of the account's id: a clash between two accounts is unlikely below millions of
accounts, and a clash is never credited at random (the line is left unmatched)."""
_CODE = re.compile(rf"{PREFIX}([0-9A-F]{{{HEX_DIGITS}}})")


def payment_code(account_id: str) -> str:
    """``KYSO`` and the first 12 hex digits of the account's id (a UUID), upper case."""
    digits = account_id.replace("-", "").upper()
    return PREFIX + digits[:HEX_DIGITS]


def codes_in(description: str) -> list[str]:
    """The payment codes in a bank's description of a transfer; banks add their own words,
    may change the case and may break the code with spaces, dots or dashes."""
    squeezed = re.sub(r"[^0-9A-Za-z]", "", description).upper()
    return sorted({PREFIX + m.group(1) for m in _CODE.finditer(squeezed)})


def account_id_prefix(code: str) -> str:
    """How the ids of the accounts ``code`` may stand for begin (a UUID's hyphen kept)."""
    digits = code.removeprefix(PREFIX).lower()
    return f"{digits[:8]}-{digits[8:]}"
