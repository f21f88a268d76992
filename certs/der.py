"""Just enough DER to read and write the small fixed structures of OCSP without a schema library.

The reader is strict: definite, minimal lengths only, single-byte tags, every value inside its
parent. Anything it does not accept raises :class:`DerError`, and the caller decides (the OCSP
responder then asks asn1crypto, which is slower and more lenient).
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "DerError",
    "encode",
    "generalized_time",
    "read",
]

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
OBJECT_IDENTIFIER = 0x06
ENUMERATED = 0x0A
BOOLEAN = 0x01
GENERALIZED_TIME = 0x18
BIT_STRING = 0x03


class DerError(ValueError):
    """The bytes are not DER this reader accepts."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


def encode(tag: int, content: bytes) -> bytes:
    """One TLV: ``tag`` (a single identifier byte), the minimal length, ``content``."""
    n = len(content)
    if n < 0x80:  # the lengths of an OCSP answer's parts, written out: ten of them per answer
        return bytes((tag, n)) + content
    if n < 0x100:
        return bytes((tag, 0x81, n)) + content
    if n < 0x10000:
        return bytes((tag, 0x82, n >> 8, n & 0xFF)) + content
    return bytes((tag,)) + _length(n) + content


def read(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The TLV at ``pos``: (tag, first content byte, one past the last), inside ``end``."""
    if pos + 2 > end:
        raise DerError("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tag")
    first = data[pos + 1]
    pos += 2
    if first & 0x80:
        size = first & 0x7F
        if size == 0 or size > 4 or pos + size > end or data[pos] == 0:
            raise DerError("indefinite or non-minimal length")
        length = int.from_bytes(data[pos : pos + size], "big")
        if length < 0x80:
            raise DerError("non-minimal length")
        pos += size
    else:
        length = first
    if pos + length > end:
        raise DerError("value runs past its parent")
    return tag, pos, pos + length


def generalized_time(moment: datetime) -> bytes:
    """A DER GeneralizedTime of a UTC time, whole seconds (``YYYYMMDDHHMMSSZ``)."""
    return encode(GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))
