"""The Content-Disposition of a file people download, with a non-ASCII name kept."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["attachment"]


def attachment(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266)."""
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
