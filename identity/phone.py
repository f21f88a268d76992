"""Vietnamese phone numbers: accepted spellings, one stored form (+84…)."""

from __future__ import annotations

import re

__all__ = ["normalise_phone"]

_MOBILE = re.compile(r"^(?:\+84|84|0)([35789]\d{8})$")
_LANDLINE = re.compile(r"^(?:\+84|84|0)(2\d{9})$")


def normalise_phone(text: str) -> str | None:
    """``+84`` and the national number, or None when it is no Vietnamese mobile or landline.

    Mobile numbers are 0 + 9 digits starting 3, 5, 7, 8 or 9; landlines 0 + 10 digits
    starting 2. Spaces, dots, dashes and brackets are ignored.
    """
    compact = re.sub(r"[\s.\-()]", "", text)
    match = _MOBILE.match(compact) or _LANDLINE.match(compact)
    return f"+84{match.group(1)}" if match else None
