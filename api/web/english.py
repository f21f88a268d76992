"""English renderings of the pages' Vietnamese phrases (the Vietnamese is the key)."""

from __future__ import annotations

__all__ = ["ENGLISH"]

ENGLISH: dict[str, str] = {}
