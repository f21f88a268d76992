"""A certificate subject (its RFC 4514 string, as kept) in the terms people read: the holder's
name, CCCD or tax code (MST), organisation. Subjects are ours (C=VN, [O,] CN, UID CCCD:… or
MST:…) or another CA's; one that cannot be parsed is shown as it is."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["SubjectWords", "subject_words"]


@dataclass(frozen=True)
class SubjectWords:
    name: str
    """The common name (or the whole DN when there is none)."""
    cccd: str | None = None
    """The 12-digit citizen ID, from ``UID=CCCD:…``."""
    tax_code: str | None = None
    """The organisation's MST, from ``UID=MST:…``."""
    organisation: str | None = None
    raw: str = ""
    """The DN as kept (for a tooltip)."""


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    found = name.get_attributes_for_oid(oid)
    value = found[0].value if found else None
    return value if isinstance(value, str) and value.strip() else None


def subject_words(rfc4514: str) -> SubjectWords:
    """The parts of a subject people read; the raw DN kept beside them."""
    try:
        name = x509.Name.from_rfc4514_string(rfc4514)
    except ValueError:
        return SubjectWords(name=rfc4514, raw=rfc4514)
    uid = _first(name, NameOID.USER_ID) or ""
    scheme, _, number = uid.partition(":")
    return SubjectWords(
        name=_first(name, NameOID.COMMON_NAME) or rfc4514,
        cccd=number if scheme == "CCCD" and number else None,
        tax_code=number if scheme == "MST" and number else None,
        organisation=_first(name, NameOID.ORGANIZATION_NAME),
        raw=rfc4514,
    )
