"""Field rules: the CCCD number, Vietnamese phone numbers, passwords and signing PINs."""

from __future__ import annotations

from datetime import date

import pytest

from identity.cccd import PROVINCE_CODES, Gender, cccd_errors
from identity.credentials import pin_problems
from identity.models import User
from identity.passwords import password_problems
from identity.phone import normalise_phone

M, F = Gender.MALE, Gender.FEMALE


@pytest.mark.parametrize(
    ("cccd", "born", "gender"),
    [
        ("001090012345", date(1990, 5, 17), M),  # Hà Nội, 20th century male
        ("079195001234", date(1995, 1, 2), F),  # Hồ Chí Minh, 20th century female
        ("001203012345", date(2003, 12, 31), M),  # 21st century male
        ("096304000001", date(2004, 2, 29), F),  # Cà Mau, 21st century female
        ("048000999999", date(1900, 1, 1), M),  # first year of the century
        ("092199123456", date(1999, 12, 31), F),
    ],
)
def test_valid_cccd_numbers(cccd: str, born: date, gender: Gender) -> None:
    assert cccd_errors(cccd, born, gender) == []


@pytest.mark.parametrize(
    ("cccd", "born", "gender", "fragment"),
    [
        ("00109001234", date(1990, 5, 17), M, "exactly 12 digits"),  # 11 digits
        ("0010900123456", date(1990, 5, 17), M, "exactly 12 digits"),  # 13 digits
        ("00109001234a", date(1990, 5, 17), M, "exactly 12 digits"),  # a letter
        (
            "\uff10\uff10\uff11\uff10\uff19\uff10\uff10\uff11\uff12\uff13\uff14\uff15",
            date(1990, 5, 17),
            M,
            "exactly 12 digits",
        ),  # full-width
        ("003090012345", date(1990, 5, 17), M, "003 is not a province code"),
        ("000090012345", date(1990, 5, 17), M, "000 is not a province code"),
        ("097090012345", date(1990, 5, 17), M, "097 is not a province code"),
        ("001190012345", date(1990, 5, 17), M, "4th digit 1 does not match a male"),
        ("001090012345", date(1990, 5, 17), F, "4th digit 0 does not match a female"),
        ("001090012345", date(2090, 5, 17), M, "4th digit 0 does not match a male born in 2090"),
        ("001291012345", date(1991, 5, 17), M, "expected 0"),  # 21st-century code, born 1991
        ("001091012345", date(1990, 5, 17), M, "digits 5-6 (91)"),
        ("001203012345", date(2004, 1, 1), M, "birth year's last two digits (04)"),
    ],
)
def test_invalid_cccd_numbers_say_which_rule(
    cccd: str, born: date, gender: Gender, fragment: str
) -> None:
    assert any(fragment in e for e in cccd_errors(cccd, born, gender)), cccd_errors(
        cccd, born, gender
    )


def test_there_are_63_province_codes() -> None:
    assert len(PROVINCE_CODES) == 63
    assert PROVINCE_CODES["079"] == "Hồ Chí Minh"


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0912345678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84-912-345-678", "+84912345678"),
        ("0387.654.321", "+84387654321"),
        ("(024) 3825 1234", "+842438251234"),
    ],
)
def test_vietnamese_phone_numbers_are_normalised(text: str, stored: str) -> None:
    assert normalise_phone(text) == stored


@pytest.mark.parametrize(
    "text", ["091234567", "09123456789", "0112345678", "+1 415 555 0100", "abc"]
)
def test_other_phone_numbers_are_refused(text: str) -> None:
    assert normalise_phone(text) is None


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short", False),
        ("aaaaaaaaaaaa", False),
        ("an@example.vn", False),
        ("chuỗi mật khẩu 2026", True),
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    assert (password_problems(password, email="an@example.vn", cccd="001090012345") is None) is ok


def _user() -> User:
    return User(email="x@y.vn", role="citizen", full_name="x", password_hash="x",
                date_of_birth=date(1990, 5, 17), created_at=None)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("12345", "6 to 8 digits"),
        ("123456789", "6 to 8 digits"),
        ("12a456", "6 to 8 digits"),
        ("111111", "repeat one digit"),
        ("123456", "run of digits"),
        ("87654321", "run of digits"),
        ("121212", "too easy"),
        ("170590", "date of birth"),
        ("19900517", "date of birth"),
        ("402917", None),
        ("73920184", None),
    ],
)
def test_pin_policy(pin: str, problem: str | None) -> None:
    found = pin_problems(pin, _user())
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
