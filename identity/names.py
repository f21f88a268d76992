"""E-mail addresses and people's names as one person means them: NFKC-normalised (an e-mail
also case-folded), with no invisible character and no letters of two scripts, so that
``\u0430@x.test`` (a Cyrillic a) or ``a\u200b@x.test`` (a zero-width space) cannot sit beside
``a@x.test``."""

from __future__ import annotations

import unicodedata

__all__ = ["look_alike_problem", "normal_email", "normal_name"]

_VISIBLE_SPACE = " "
_INVISIBLE = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"}
"""Control, format (zero-width, direction marks), private, unassigned, surrogate characters and
separators: none may stand in an address or a name (but the plain space in a name)."""


def normal_email(email: str) -> str:
    """The address as it is stored and compared: NFKC, case-folded, without outer spaces."""
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def normal_name(name: str) -> str:
    """A name as it is stored: NFKC, its words separated by one space."""
    return " ".join(unicodedata.normalize("NFKC", name).split())


def _script(character: str) -> str | None:
    """The script of a letter (the first word of its Unicode name: LATIN, CYRILLIC, GREEK…);
    ``None`` for what belongs to every script (digits, punctuation, marks)."""
    if not character.isalpha():
        return None
    return unicodedata.name(character, "UNKNOWN").split()[0]


def look_alike_problem(text: str, *, spaces: bool) -> str | None:
    """Why ``text`` (already normalised) could pass for another: an invisible character, or
    letters of more than one script; ``None`` when it is plain."""
    for character in text:
        if character == _VISIBLE_SPACE and spaces:
            continue
        if unicodedata.category(character) in _INVISIBLE:
            return "remove the invisible or special character " + repr(character)[1:-1]
    scripts = {s for s in map(_script, text) if s is not None}
    if len(scripts) > 1:
        return "use letters of one alphabet only (" + ", ".join(sorted(scripts)).lower() + ")"
    return None
