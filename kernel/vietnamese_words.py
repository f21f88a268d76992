"""Amounts of money in Vietnamese words, as an invoice writes its total
("Một trăm linh năm nghìn đồng")."""

from __future__ import annotations

__all__ = ["dong_in_words", "number_in_words"]

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_BILLION = 1_000_000_000


def _units(tens: int, unit: int) -> str:
    """The last digit after its tens: 1 is "mốt" after 20, 5 is "lăm" after 10."""
    if unit == 1 and tens >= 2:
        return "mốt"
    if unit == 5 and tens >= 1:
        return "lăm"
    return _DIGITS[unit]


def _group(number: int, *, full: bool) -> list[str]:
    """Three digits; ``full`` reads the hundreds even when they are 0 ("không trăm linh năm"),
    as every group after the first is read."""
    hundreds, tens, unit = number // 100, number // 10 % 10, number % 10
    words = [_DIGITS[hundreds], "trăm"] if hundreds or full else []
    if tens == 0:
        if unit:
            words += ["linh", _DIGITS[unit]] if words else [_DIGITS[unit]]
    elif tens == 1:
        words += ["mười"] + ([_units(1, unit)] if unit else [])
    else:
        words += [_DIGITS[tens], "mươi"] + ([_units(tens, unit)] if unit else [])
    return words


def _below_billion(number: int, *, full: bool) -> list[str]:
    words: list[str] = []
    for scale, name in ((1_000_000, "triệu"), (1_000, "nghìn"), (1, "")):
        group = number // scale % 1000
        if group:
            words += _group(group, full=full or bool(words)) + ([name] if name else [])
    return words


def _words(number: int) -> list[str]:
    if number >= _BILLION:
        head, rest = divmod(number, _BILLION)
        return [*_words(head), "tỷ", *(_below_billion(rest, full=True) if rest else [])]
    return _below_billion(number, full=False)


def number_in_words(number: int) -> str:
    """A whole number ≥ 0 in Vietnamese words, lower case: 1005000 → "một triệu không trăm
    linh năm nghìn"."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ValueError("a whole number from 0")
    return " ".join(_words(number)) if number else "không"


def dong_in_words(amount: int) -> str:
    """An amount of đồng as an invoice writes it: "Một trăm linh năm nghìn đồng"."""
    words = number_in_words(amount)
    return words[0].upper() + words[1:] + " đồng"
